"""The response half of the contract: what a caller reads back from one turn.

Built from real records (the simulated provider's snapshots and their analyses, with the
track record) in a graph state as the nodes leave it; no graph runs here.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from stock_agent import formatting
from stock_agent.contract import (
    TickerResult,
    analysis_json,
    build_response,
    data_gathering_section,
    data_json,
    performance_analysis_section,
    report_generation_section,
    report_json,
    ticker_sections,
)
from stock_agent.records import (
    Headline,
    Narrative,
    ReportRef,
    StockAnalysis,
    StockSnapshot,
    to_jsonable,
)
from stock_agent.settings import AgentSettings

from tests.support.records import simulated_record

AS_OF = date(2026, 11, 30)
GENERATED = datetime(2026, 11, 30, 14, 21, 10, tzinfo=UTC)


@functools.cache
def _record(symbol: str) -> tuple[StockSnapshot, StockAnalysis]:
    return simulated_record(symbol, as_of=AS_OF, track_record=True)


def _report(symbol: str, *, s3: bool = False) -> ReportRef:
    key = f"2026/11/30/{symbol}_Stock_Report_20261130_142110_0a1b2c3d.pdf"
    uri = f"s3://reports-bucket/{key}" if s3 else f"file:///srv/reports/{key}"
    return ReportRef(uri=uri, key=key, bytes=27522, sha256="c" * 64)


def _state(*symbols: str, reported: tuple[str, ...] | None = None, **extra: Any) -> Any:
    """The state the nodes leave for ``symbols``; only ``reported`` (default: all) have a PDF."""
    reported = symbols if reported is None else reported
    state: dict[str, Any] = {
        "request_id": "req-1",
        "session_id": "conversation-1",
        "tickers": list(symbols),
        "intent": "compare" if len(symbols) > 1 else "analyze",
        "snapshots": {s: _record(s)[0] for s in symbols},
        "analyses": {s: _record(s)[1] for s in symbols},
        "narratives": {
            s: Narrative(text=f"{s} narrative.", source="deterministic") for s in symbols
        },
        "reports": {s: _report(s) for s in reported},
        "generated_at": {s: GENERATED for s in reported},
    }
    state.update(extra)
    return state


class _Presigner:
    """A store that signs, as ``S3ReportStore.link`` does: one URL per key."""

    def link(self, key: str) -> str | None:
        return f"https://reports-bucket.s3.amazonaws.com/{key}?X-Amz-Signature=abc"


class _NoLinks:
    """A store that can sign nothing (links off): ``link`` answers None."""

    def link(self, key: str) -> str | None:
        return None


# --- build_response: one result per reported ticker, in the order asked ---------------------


def test_every_reported_ticker_gets_its_result_in_the_order_asked() -> None:
    state = _state("MSFT", "AAPL")
    response = build_response(state)
    assert [r["symbol"] for r in response["results"]] == ["MSFT", "AAPL"]
    assert response["tickers"] == ["MSFT", "AAPL"]
    for result in response["results"]:
        symbol = result["symbol"]
        snapshot, analysis = _record(symbol)
        assert result["sections"] == ticker_sections(
            TickerResult(
                symbol,
                snapshot,
                analysis,
                state["narratives"][symbol],
                state["reports"][symbol],
                GENERATED,
            )
        )
        assert result["key_figures"] == dict(formatting.key_figures(snapshot, analysis))
        assert result["figures"] == formatting.figure_provenance(snapshot, analysis)
        assert result["narrative"] == {
            "text": f"{symbol} narrative.",
            "source": "deterministic",
            "model_calls": 0,
        }
        assert result["report"] == report_json(state["reports"][symbol])
        assert result["generated_at"] == "2026-11-30T14:21:10+00:00"
        assert result["track_record"] == to_jsonable(analysis.track_record)
        assert result["track_record"] is not None
        assert "track_record" not in result["analysis"]


def test_the_text_carries_every_tickers_sections_under_one_title_each() -> None:
    response = build_response(_state("MSFT", "AAPL"))
    text = response["text"]
    assert text.count("STOCK DATA GATHERING REPORT:") == 1
    for result in response["results"]:
        for section in result["sections"].values():
            assert section in text
    assert text.index("--- MSFT ---") < text.index("--- AAPL ---")


def test_a_ticker_without_a_report_is_failed_not_half_answered() -> None:
    failure = {"stage": "report_generation", "code": "report_failed", "message": "disk full"}
    state = _state("MSFT", "AAPL", reported=("AAPL",), failures={"MSFT": failure})
    response = build_response(state)
    assert [r["symbol"] for r in response["results"]] == ["AAPL"]
    assert response["tickers"] == ["MSFT", "AAPL"]
    assert response["failed"] == [{"symbol": "MSFT", **failure}]
    assert "--- MSFT ---" not in response["text"] and "MSFT narrative." not in response["text"]


def test_warnings_and_degraded_reasons_are_said_once_each() -> None:
    state = _state(
        "AAPL",
        warnings=["AAPL: no statements", "AAPL: no statements", "slow data"],
        degraded_reasons=["model unreachable", "model unreachable", "no benchmark"],
    )
    response = build_response(state)
    assert response["warnings"] == ["AAPL: no statements", "slow data"]
    assert response["degraded"] is True
    assert response["degraded_reason"] == "model unreachable; no benchmark"
    assert response["text"].endswith("WARNINGS:\n- AAPL: no statements\n- slow data\n")
    clean = build_response(_state("AAPL"))
    assert (clean["degraded"], clean["degraded_reason"], clean["warnings"]) == (False, None, [])


def test_a_starting_model_is_said_in_the_status_and_once_in_the_warnings() -> None:
    response = build_response(_state("AAPL", model_starting_eta_s=[30.0, 90.0, 45.0]))
    status = response["model_status"]
    assert status["status"] == "starting" and status["retry_after_s"] == 90  # the longest wait
    assert response["warnings"] == [status["message"]]
    assert status["message"] in response["text"]
    settled = build_response(_state("AAPL", model_starting_eta_s=[]))
    assert settled["model_status"] is None and settled["warnings"] == []


def test_metrics_count_from_zero_and_name_the_providers() -> None:
    bare = build_response(_state("AAPL"))
    assert bare["metrics"] == {
        "timings_ms": {},
        "model_calls": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "model_provider": None,
        "data_provider": None,
    }
    counted = build_response(
        _state(
            "AAPL",
            model_calls=2,
            prompt_tokens=900,
            completion_tokens=300,
            timings_ms={"data_gathering": 12.5},
        ),
        ctx=AgentSettings(model_provider="offline", data_provider="simulated"),
    )
    assert counted["metrics"] == {
        "timings_ms": {"data_gathering": 12.5},
        "model_calls": 2,
        "prompt_tokens": 900,
        "completion_tokens": 300,
        "model_provider": "offline",
        "data_provider": "simulated",
    }


def test_the_turns_own_fields_are_echoed() -> None:
    plan = {"intent": "analyze", "subjects": ["AAPL"], "source": "rules"}
    response = build_response(_state("AAPL", plan=plan))
    assert response["request_id"] == "req-1"
    assert response["session_id"] == "conversation-1"
    assert response["intent"] == "analyze"
    assert response["plan"] == plan
    assert response["answer"] is None and response["comparison"] is None
    bare = _state("AAPL")
    del bare["intent"], bare["session_id"]
    assert build_response(bare)["intent"] == "analyze"
    assert build_response(bare)["session_id"] is None


# --- questions, comparisons and the text of a turn --------------------------------------------


def test_a_question_from_the_session_is_answered_alone() -> None:
    state = _state(reported=(), answer="AAPL has the higher Beta.", tickers=["AAPL", "MSFT"])
    response = build_response(state)
    assert response["results"] == []
    assert response["answer"] == "AAPL has the higher Beta."
    assert response["text"] == f"ANSWER:\n{'=' * 40}\nAAPL has the higher Beta.\n"
    warned = build_response({**state, "warnings": ["session not saved"]})
    assert warned["text"] == (
        f"ANSWER:\n{'=' * 40}\nAAPL has the higher Beta.\n\nWARNINGS:\n- session not saved\n"
    )


def test_a_turn_that_analysed_to_answer_prints_the_sections_then_the_answer() -> None:
    response = build_response(_state("AAPL", answer="AAPL's beta is 1.20."))
    text = response["text"]
    assert text.startswith("STOCK DATA GATHERING REPORT:")
    assert text.endswith(f"\nANSWER:\n{'=' * 40}\nAAPL's beta is 1.20.\n")
    assert "ANSWER:" not in build_response(_state("AAPL"))["text"]


def test_a_comparison_adds_its_narrative_and_its_report() -> None:
    report = to_jsonable(_report("AAPL-MSFT", s3=True))
    comparison = {
        "symbols": ["AAPL", "MSFT"],
        "table": [],
        "leaders": {},
        "narrative": "AAPL leads on 1-Year Return.",
        "narrative_source": "deterministic",
        "report": report,
    }
    response = build_response(_state("AAPL", "MSFT", comparison=comparison), link=_Presigner())
    assert response["text"].endswith(f"\nCOMPARISON:\n{'=' * 40}\nAAPL leads on 1-Year Return.\n")
    assert response["comparison"]["narrative"] == "AAPL leads on 1-Year Return."
    assert response["comparison"]["report"] == {
        **report,
        "url": _Presigner().link(report["key"]),
    }
    both = build_response(
        _state("AAPL", "MSFT", comparison=comparison, answer="AAPL leads on 1-Year Return.")
    )["text"]
    assert both.index("COMPARISON:") < both.index("ANSWER:")
    assert build_response(_state("AAPL", comparison={}))["comparison"] is None
    unstored = build_response(_state("AAPL", "MSFT", comparison={**comparison, "report": None}))
    assert unstored["comparison"]["report"] is None


# --- report links ------------------------------------------------------------------------------


def test_a_report_gets_a_url_only_where_the_store_signs_one() -> None:
    ref = _report("AAPL", s3=True)
    plain = {"uri": ref.uri, "key": ref.key, "bytes": 27522, "sha256": "c" * 64}
    assert report_json(ref) == plain
    assert report_json(ref, link=_NoLinks()) == plain
    assert report_json(ref, link=object()) == plain  # type: ignore[arg-type]  # a local store
    assert report_json(ref, link=_Presigner()) == {**plain, "url": _Presigner().link(ref.key)}
    response = build_response(_state("AAPL"), link=_Presigner())
    assert response["results"][0]["report"]["url"].startswith("https://")


# --- the sections ------------------------------------------------------------------------------


def test_the_data_section_prints_identity_market_and_financial_figures_and_headlines() -> None:
    snapshot, analysis = _record("AAPL")
    text = data_gathering_section(snapshot, analysis)
    lines = text.splitlines()
    assert lines[:2] == ["Stock Symbol: AAPL", "Company Name: Apple Inc."]
    assert f"Data: simulated, as of {AS_OF.isoformat()}" in lines
    groups = formatting.key_figure_groups(snapshot, analysis)
    for title, rows in groups[:2]:
        start = lines.index(f"{title.upper()}:")
        assert lines[start + 1 : start + 1 + len(rows)] == [f"- {k}: {v}" for k, v in rows]
    for title, _ in groups[2:]:
        assert f"{title.upper()}:" not in lines  # the performance section prints those
    assert "RECENT HEADLINES:" not in text
    news = replace(
        snapshot,
        headlines=(
            Headline("Apple ships a phone", "Wire", "https://example.com/1", "2026-11-29"),
            Headline("Apple beats", "Daily", "https://example.com/2", "2026-11-28"),
        ),
    )
    assert data_gathering_section(news, analysis).endswith(
        "RECENT HEADLINES:\n- Apple ships a phone (Wire)\n- Apple beats (Daily)"
    )


def test_the_analysis_section_says_who_wrote_the_narrative() -> None:
    snapshot, analysis = _record("AAPL")
    model = performance_analysis_section(
        snapshot, analysis, Narrative(text="Written.", source="model", model_calls=1)
    )
    assert model.endswith("ANALYST NARRATIVE (language model):\nWritten.")
    rules = performance_analysis_section(
        snapshot, analysis, Narrative(text="Rules.", source="deterministic")
    )
    assert rules.endswith("ANALYST NARRATIVE (deterministic, no model):\nRules.")
    assert f"OUTLOOK: {analysis.outlook.upper()}" in rules
    figures = dict(formatting.key_figures(snapshot, analysis))
    assert f"Stock: AAPL | Current Price: {figures['Current Price']}" == rules.splitlines()[0]


def test_the_report_section_says_where_the_pdf_is_and_how_to_check_it() -> None:
    snapshot, analysis = _record("AAPL")
    narrative = Narrative(text="n", source="model")
    later = datetime(2026, 11, 30, 9, 21, 10, tzinfo=timezone(timedelta(hours=-5)))
    s3 = report_generation_section(
        TickerResult("AAPL", snapshot, analysis, narrative, _report("AAPL", s3=True), later)
    )
    assert f"PDF report stored (S3): s3://reports-bucket/{_report('AAPL').key}" in s3
    assert "- Size: 27,522 bytes" in s3 and f"- SHA-256: {'c' * 64}" in s3
    assert "- Generated: 2026-11-30 14:21:10 UTC" in s3  # said in UTC whatever the zone
    assert "- Narrative: language model" in s3
    assert "- Track record of the technical score" in s3
    local = report_generation_section(
        TickerResult(
            "AAPL",
            snapshot,
            replace(analysis, track_record=None),
            Narrative(text="n", source="deterministic"),
            _report("AAPL"),
            GENERATED,
        )
    )
    assert "PDF report stored (local file): file:///srv/reports/" in local
    assert "- Narrative: deterministic" in local
    assert "Track record" not in local


# --- JSON of the records -------------------------------------------------------------------------


def test_the_data_json_summarises_the_price_history() -> None:
    snapshot, _ = _record("AAPL")
    data = data_json(snapshot)
    assert "prices" not in data
    assert data["price_history"] == {
        "sessions": len(snapshot.prices),
        "first_day": snapshot.prices[0].day.isoformat(),
        "last_day": snapshot.prices[-1].day.isoformat(),
    }
    assert snapshot.prices[0].day < snapshot.prices[-1].day
    assert data["history"][-1] == {
        "date": snapshot.prices[-1].day.isoformat(),
        "close": snapshot.prices[-1].close,
        "volume": snapshot.prices[-1].volume,
    }
    assert snapshot.benchmark is not None
    assert data["benchmark"]["sessions"] == len(snapshot.benchmark.prices)
    assert "prices" not in data["benchmark"]
    empty = data_json(replace(snapshot, prices=(), benchmark=None))
    assert empty["price_history"] == {"sessions": 0, "first_day": None, "last_day": None}
    assert empty["history"] == []


def test_the_analysis_json_leaves_the_track_record_to_its_own_key() -> None:
    _, analysis = _record("AAPL")
    data = analysis_json(analysis)
    assert "track_record" not in data
    assert data["technical"]["score"] == analysis.technical.score
