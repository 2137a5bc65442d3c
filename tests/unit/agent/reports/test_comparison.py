"""The comparison report: real records, a real reportlab PDF read back with pypdf.

Every figure the PDF shows is checked against the records it was built from;
the leaders follow the rules at their edges (ties, missing values); the
stored key follows the dated layout; deployed reports get a presigned link
(moto's real S3 API on loopback serves it).
"""

from __future__ import annotations

import hashlib
import io
import re
import urllib.request
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from pypdf import PdfReader
from stock_agent import formatting
from stock_agent.agent import Dependencies, StockAgent
from stock_agent.analysis import analyze
from stock_agent.answering.number_check import check_narrative
from stock_agent.context import CallProfiles
from stock_agent.market_data import get_provider
from stock_agent.memory.session import SessionRecord
from stock_agent.models.types import ChatResult, ModelError, Usage
from stock_agent.records import Narrative, ReportRef
from stock_agent.reports import comparison, storage
from stock_agent.reports.pdf import DISCLAIMER
from stock_agent.settings import AgentSettings

from tests.support.moto_s3 import moto_s3_server, s3_client

AS_OF = date(2026, 11, 30)
WHEN = datetime(2026, 11, 30, 14, 5, 9, tzinfo=UTC)
PROFILE = CallProfiles.from_settings(AgentSettings()).comparison


def _record(symbol: str) -> SessionRecord:
    snapshot = get_provider("simulated").snapshot(symbol, as_of=AS_OF)
    return SessionRecord(
        snapshot=snapshot,
        analysis=analyze(snapshot),
        narrative=Narrative(text="n", source="deterministic"),
        report=ReportRef(
            uri="file:///x", key=f"2026/11/30/{symbol}_Stock_Report_x.pdf", bytes=1, sha256="0"
        ),
        generated_at=WHEN,
    )


def _records(*symbols: str) -> dict[str, SessionRecord]:
    return {s: _record(s) for s in symbols}


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def test_the_pdf_shows_every_figure_of_the_records_side_by_side(tmp_path: Path) -> None:
    records = _records("AAPL", "MSFT", "KO")
    store = storage.LocalReportStore(root=tmp_path)
    outcome = comparison.generate_comparison_report(
        records,
        store=store,
        model=_NoModel(),
        profile=PROFILE,
        use_model=False,
        generated_at=WHEN,
        request_id="req-cmp",
    )
    assert re.fullmatch(
        r"2026/11/30/AAPL-MSFT-KO_Comparison_20261130_140509_[0-9a-f]{8}\.pdf", outcome.report.key
    )
    data = (tmp_path / outcome.report.key).read_bytes()
    assert outcome.report.sha256 == hashlib.sha256(data).hexdigest()
    text = _text(data)
    lines = text.splitlines()
    for symbol, record in records.items():
        figures = dict(formatting.key_figures(record.snapshot, record.analysis))
        for label in comparison.TABLE_FIGURES:
            assert outcome.table[label][symbol] == figures[label], (symbol, label)
    # each table row reads: label, then the three values in column order (a cell per line)
    for label, values in outcome.table.items():
        row = "\n".join([label, *(values[s] for s in records)])
        assert row in "\n".join(line.strip() for line in lines), row
    for lead in outcome.leaders:
        line = f"{lead['measure']}: {', '.join(lead['leaders'])} ({lead['rule']}, {lead['value']})"
        assert line in text, line
    assert "Price Performance (rebased to 100)" in text
    assert " ".join(DISCLAIMER.split()[:12]) in " ".join(text.split())
    for record in records.values():
        assert record.report.key in text
    assert (
        check_narrative(
            outcome.narrative.text,
            allowed=comparison._allowed(records, comparison._facts(records, outcome.leaders)),
        )
        is None
    )


def test_leaders_follow_the_rules_at_their_edges() -> None:
    records = _records("AAPL", "MSFT")
    a, m = records["AAPL"], records["MSFT"]
    # a tie shares the lead; everyone tied names no leader
    tied = {
        "AAPL": replace(a, snapshot=replace(a.snapshot, beta=1.0)),
        "MSFT": replace(m, snapshot=replace(m.snapshot, beta=1.0)),
        "KO": replace(_record("KO"), snapshot=replace(_record("KO").snapshot, beta=1.5)),
    }
    beta = next(x for x in comparison.leaders(tied) if x["measure"] == "Beta")
    assert beta["leaders"] == ["AAPL", "MSFT"] and beta["rule"] == "lowest"
    all_tied = {s: replace(r, snapshot=replace(r.snapshot, beta=1.0)) for s, r in records.items()}
    assert all(x["measure"] != "Beta" for x in comparison.leaders(all_tied))
    # a value only one ticker has, or a loss-maker's P/E, does not compete
    one_yield = {**records, "MSFT": replace(m, snapshot=replace(m.snapshot, dividend_yield=None))}
    assert all(x["measure"] != "Dividend Yield" for x in comparison.leaders(one_yield))
    loss = {**records, "AAPL": replace(a, snapshot=replace(a.snapshot, pe_ratio=-3.0))}
    assert all(x["measure"] != "P/E Ratio" for x in comparison.leaders(loss))
    cheap = {**records, "AAPL": replace(a, snapshot=replace(a.snapshot, pe_ratio=0.01))}
    pe = next(x for x in comparison.leaders(cheap) if x["measure"] == "P/E Ratio")
    assert pe["leaders"] == ["AAPL"]
    # highest wins for returns
    best = max(records, key=lambda s: records[s].snapshot.one_year_return)
    one_year = next(x for x in comparison.leaders(records) if x["measure"] == "1-Year Return")
    assert one_year["leaders"] == [best]


def test_prices_are_rebased_to_100_on_the_first_shared_day() -> None:
    records = _records("AAPL", "SIM_JP")
    series = comparison.rebased_series(records)
    for symbol, points in series.items():
        prices = records[symbol].snapshot.prices
        assert points[0][1] == pytest.approx(100.0)
        assert points[-1][1] == pytest.approx(prices[-1].close / prices[0].close * 100)
        assert points[-1][1] == pytest.approx(100 * (1 + records[symbol].snapshot.one_year_return))
    # a ticker with a shorter history moves the common start
    short = replace(records["AAPL"].snapshot, prices=records["AAPL"].snapshot.prices[100:])
    shifted = comparison.rebased_series(
        {**records, "AAPL": replace(records["AAPL"], snapshot=short)}
    )
    assert shifted["SIM_JP"][0][0] == short.prices[0].day.toordinal()
    assert shifted["SIM_JP"][0][1] == pytest.approx(100.0)


class _NoModel:
    name = "offline"

    def chat(self, *args: object, **kwargs: object) -> ChatResult:
        raise AssertionError("the model was asked")


class _Scripted:
    name = "scripted"

    def __init__(self, *answers: str | ModelError) -> None:
        self.answers = list(answers)
        self.calls = 0

    def chat(self, *args: object, **kwargs: object) -> ChatResult:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, ModelError):
            raise answer
        return ChatResult(content=answer, usage=Usage(prompt_tokens=10, completion_tokens=5))


@pytest.mark.parametrize(
    ("answer", "source"),
    [
        ("MSFT leads on 1-Year Return; AAPL has the higher beta.", "model"),
        ("MSFT will return 55.55% next year.", "deterministic"),  # invented figure
        (ModelError("model_unavailable", "down"), "deterministic"),
    ],
)
def test_the_model_writes_the_narrative_once_and_the_number_check_applies(
    tmp_path: Path, answer: str | ModelError, source: str
) -> None:
    model = _Scripted(answer)
    outcome = comparison.generate_comparison_report(
        _records("AAPL", "MSFT"),
        store=storage.LocalReportStore(root=tmp_path),
        model=model,
        profile=PROFILE,
        use_model=True,
        generated_at=WHEN,
        request_id="r",
    )
    assert model.calls == 1 and outcome.narrative.model_calls == 1
    assert outcome.narrative.source == source
    if source == "deterministic":
        assert "55.55" not in outcome.narrative.text and outcome.narrative.warnings


def test_deployed_reports_carry_a_presigned_link_of_at_most_one_hour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # signing is local; nothing is sent
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto_s3_server() as endpoint:
        client = s3_client(endpoint, signature_version="s3v4")
        client.create_bucket(Bucket="reports")
        ctx = AgentSettings(
            report_bucket="reports", aws_region="us-east-1", report_url_expires_seconds=3600
        )
        deps = Dependencies.from_settings(
            ctx, store=storage.build_report_store(ctx, s3_client=client)
        )
        response = StockAgent(ctx=ctx, dependencies=deps).invoke(
            "Compare AAPL and KO", request_id="r"
        )
        reports = [r["report"] for r in response["results"]] + [response["comparison"]["report"]]
        for report in reports:
            url = urlparse(report["url"])
            assert unquote(url.path).endswith(report["key"])
            assert parse_qs(url.query)["X-Amz-Expires"] == ["3600"]
            with urllib.request.urlopen(report["url"], timeout=10) as reply:
                body = reply.read()
            assert hashlib.sha256(body).hexdigest() == report["sha256"]
    # without an endpoint override the link is HTTPS to the bucket, signed for that key only
    offline = storage.S3ReportStore(
        bucket="reports",
        client=storage.build_report_store(
            AgentSettings(report_bucket="reports", aws_region="us-east-1")
        ).client,  # type: ignore[attr-defined]
        url_expires_seconds=900,
    )
    link = offline.link("2026/11/30/AAPL_Stock_Report_x.pdf")
    assert link is not None and link.startswith("https://reports.s3.")
    assert "/2026/11/30/AAPL_Stock_Report_x.pdf?" in link
    assert "X-Amz-Expires=900" in link
    links_off = storage.S3ReportStore(
        bucket="reports", client=offline.client, url_expires_seconds=None
    )
    assert links_off.link("2026/11/30/AAPL_Stock_Report_x.pdf") is None


def test_local_reports_have_no_url(tmp_path: Path) -> None:
    response = StockAgent(ctx=AgentSettings(reports_dir=str(tmp_path))).invoke(
        "Compare AAPL and KO", request_id="r"
    )
    assert "url" not in response["results"][0]["report"]
    assert "url" not in response["comparison"]["report"]
    assert response["comparison"]["report"]["uri"].startswith("file://")
