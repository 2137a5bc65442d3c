"""The model's first answer, read from the run record beside the report.

Records are written by the agent's own ``build_run_record`` from a simulated
ticker's real snapshot, analysis and narrative input; the observation points
at them the way a response does (``report.uri`` of the PDF, the record beside
it with ``.json``). So the grade and the reward read exactly what a run stores.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from stock_agent import formatting
from stock_agent.answering.checked_text import TextAttempt
from stock_agent.answering.narrative import NarrativeTrace, deterministic_narrative
from stock_agent.answering.number_check import allowed_figures
from stock_agent.customize.reward import score
from stock_agent.customize.run_records import build_run_record, encode
from stock_agent.prompts import narrative_messages, narrative_payload
from stock_agent.records import Narrative, ReportRef
from stock_agent.settings import AgentSettings

from eval.first_answers import FIRST_ANSWER, measure_turn, run_record_uri
from eval.targets import Observation
from tests.support.analyst_model import INVENTED_FIGURE, INVENTED_SENTENCE
from tests.support.narratives import good_narrative
from tests.support.records import simulated_record

AS_OF = date(2025, 9, 4)


def attempt(n: int, answer: str, payload: dict[str, Any], **extra: Any) -> TextAttempt:
    return TextAttempt(
        attempt=n, messages=tuple(narrative_messages(payload)), answer=answer, passed=True,
        reason=None, finish_reason=extra.get("finish_reason", "stop"), reasoning_chars=0,
        prompt_tokens=1, completion_tokens=1, latency_ms=1.0,
    )  # fmt: skip


def stored_turn(
    folder: Path, symbol: str, answers: list[str], *, model_calls: int | None = None, **extra: Any
) -> tuple[Observation, dict[str, Any]]:
    """A run record on disk and an observation whose result points at its report."""
    snapshot, analysis = simulated_record(symbol, as_of=AS_OF)
    rows = formatting.key_figures(snapshot, analysis)
    payload = narrative_payload(snapshot=snapshot, analysis=analysis, key_figures=rows)
    trace = NarrativeTrace(
        payload=payload,
        allowed=allowed_figures(snapshot=snapshot, analysis=analysis, payload=payload),
        attempts=tuple(attempt(i + 1, a, payload, **extra) for i, a in enumerate(answers)),
    )
    delivered = deterministic_narrative(snapshot=snapshot, analysis=analysis, key_figures=rows)
    pdf = folder / f"{symbol}_Stock_Report.pdf"
    report = ReportRef(uri=pdf.as_uri(), key=f"2025/09/04/{pdf.name}", bytes=1, sha256="0")
    record = build_run_record(
        request_id="r1", prompt=f"Analyze {symbol}", intent="analyze", tickers=[symbol],
        session_id=None, snapshot=snapshot, analysis=analysis,
        narrative=Narrative(
            text=answers[-1] if answers else delivered,
            source="model" if answers else "deterministic",
            model_calls=len(answers) if model_calls is None else model_calls,
        ),
        trace=trace, report=report, ctx=AgentSettings(), timings_ms={},
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
    )  # fmt: skip
    pdf.with_suffix(".json").write_bytes(encode(record))
    result = {"symbol": symbol, "report": {"uri": report.uri, "key": report.key}}
    obs = Observation(
        status=200, streamed=False, events=(), response={"results": [result]}, error=None,
        raw_text="", latency_ms=1.0,
    )  # fmt: skip
    return obs, record


def payload_of(symbol: str) -> dict[str, Any]:
    snapshot, analysis = simulated_record(symbol, as_of=AS_OF)
    rows = formatting.key_figures(snapshot, analysis)
    return narrative_payload(snapshot=snapshot, analysis=analysis, key_figures=rows)


def test_a_faithful_first_answer_passes_and_is_scored(tmp_path: Path) -> None:
    good = good_narrative(payload_of("AAPL"))
    obs, record = stored_turn(tmp_path, "AAPL", [good])
    measured = measure_turn(obs, allow_local_files=True)
    assert measured.grade.outcome == "pass" and measured.grade.criterion == FIRST_ANSWER
    assert measured.rewards == (score(good, record["record"]).total,)
    assert measured.rewards[0] == 1.0


def test_an_invented_figure_in_the_first_answer_fails_although_the_retry_passed(
    tmp_path: Path,
) -> None:
    good = good_narrative(payload_of("MSFT"))
    invented = f"{good} {INVENTED_SENTENCE}"
    obs, record = stored_turn(tmp_path, "MSFT", [invented, good])
    measured = measure_turn(obs, allow_local_files=True)
    assert measured.grade.outcome == "fail"
    assert measured.grade.detail == (
        f"MSFT: it contains figures that are not in the data: {INVENTED_FIGURE}"
    )
    # The reward scores what the model wrote first, not the retry the user got.
    assert measured.rewards == (score(invented, record["record"]).total,)
    assert measured.rewards[0] < 1.0


def test_an_answer_cut_off_at_the_token_limit_fails(tmp_path: Path) -> None:
    good = good_narrative(payload_of("KO"))
    obs, _ = stored_turn(tmp_path, "KO", [good], finish_reason="length")
    measured = measure_turn(obs, allow_local_files=True)
    assert measured.grade.outcome == "fail" and "finish_reason=length" in measured.grade.detail


def test_no_model_asked_is_not_applicable_and_the_delivered_text_is_scored(
    tmp_path: Path,
) -> None:
    obs, record = stored_turn(tmp_path, "JNJ", [])
    measured = measure_turn(obs, allow_local_files=True)
    assert measured.grade.outcome == "n/a"
    assert measured.rewards == (score(record["narrative"]["text"], record["record"]).total,)


def test_a_model_that_never_answered_fails_with_nothing_scored(tmp_path: Path) -> None:
    obs, _ = stored_turn(tmp_path, "JNJ", [], model_calls=1)
    measured = measure_turn(obs, allow_local_files=True)
    assert measured.grade.outcome == "fail" and measured.rewards == ()
    assert "asked 1 time(s) and gave no answer" in measured.grade.detail


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda p: p.unlink(), "run record not readable"),
        (lambda p: p.write_text("{"), "not JSON"),
        (lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "symbol": "X"})),
         "symbol 'X' != result 'AAPL'"),
    ],
)  # fmt: skip
def test_an_unusable_record_fails_by_name_and_is_not_scored(
    tmp_path: Path, damage: Any, why: str
) -> None:
    obs, _ = stored_turn(tmp_path, "AAPL", [good_narrative(payload_of("AAPL"))])
    damage(tmp_path / "AAPL_Stock_Report.json")
    measured = measure_turn(obs, allow_local_files=True)
    assert measured.grade.outcome == "fail" and why in measured.grade.detail
    assert measured.grade.detail.startswith("AAPL: run record not readable")
    assert measured.rewards == ()


def test_a_turn_without_results_is_not_applicable() -> None:
    obs = Observation(404, False, (), None, {"code": "x", "message": "y"}, "", 1.0)
    assert (
        measure_turn(obs, allow_local_files=True).grade.outcome == "n/a"
        and measure_turn(obs, allow_local_files=True).rewards == ()
    )


@pytest.mark.parametrize("report", [None, {}, {"uri": "file:///r/x.txt"}, {"uri": 3}])
def test_a_report_without_a_pdf_uri_names_no_record(report: Any) -> None:
    with pytest.raises(ValueError, match=r"does not name a \.pdf"):
        run_record_uri(report)
    assert run_record_uri({"uri": "s3://b/2025/x.pdf"}) == "s3://b/2025/x.json"
