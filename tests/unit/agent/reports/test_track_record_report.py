"""The track record wherever it shows: JSON, PDF, answers, ``stock-agent backtest``, yfinance.

The PDF is rendered by reportlab and read back with pypdf; its figures are
compared with the record. The conversation answers from the session's
records under the number check. The yfinance provider is fed a real pandas
frame in ``Ticker.history``'s shape (a gap, a NaN row and a split).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pypdf import PdfReader
from stock_agent import formatting
from stock_agent.analysis.cli import render_table
from stock_agent.analysis.track_record import compute_track_record
from stock_agent.answering.answers import deterministic_answer
from stock_agent.answering.conversation import allowed_answer_figures, answer_facts
from stock_agent.answering.number_check import check_narrative
from stock_agent.cli import main
from stock_agent.market_data import SimulatedProvider, YFinanceProvider
from stock_agent.memory.session import SessionRecord, pack_record, unpack_record
from stock_agent.records import Narrative, ReportRef, to_jsonable
from stock_agent.reports.pdf import render_report
from stock_agent.tools import analyze_stock_performance
from stock_agent.understanding.plan import RequestPlan
from stock_agent.understanding.vocabulary import build_vocabulary

from eval.pdf import flat

PROVIDER = SimulatedProvider()
AS_OF = date(2026, 11, 30)


def _record(symbol: str) -> SessionRecord:
    snapshot = PROVIDER.snapshot(symbol, as_of=AS_OF)
    return SessionRecord(
        snapshot=snapshot,
        analysis=analyze_stock_performance(snapshot, provider=PROVIDER),
        narrative=Narrative(text=f"{symbol} narrative", source="deterministic"),
        report=ReportRef(uri=f"file:///r/{symbol}.pdf", key=f"k/{symbol}.pdf", bytes=1, sha256="0"),
        generated_at=datetime(2026, 11, 30, 12, tzinfo=UTC),
    )


@pytest.mark.parametrize("symbol", ["TSLA", "SIM_JP"])
def test_the_pdf_section_shows_the_records_figures(symbol: str) -> None:
    record = _record(symbol)
    track = record.analysis.track_record
    assert track is not None
    pdf = render_report(
        snapshot=record.snapshot, analysis=record.analysis, narrative=record.narrative,
        generated_at=record.generated_at, request_id="track-pdf",
    )  # fmt: skip
    text = flat("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    assert "Track Record of the Technical Score" in text
    _, rows, notes = formatting.track_record_table(track)
    for row in rows:  # each bucket's row: label, n, mean, median, hits, interval, 3M cells
        assert flat(" ".join(cell for cell in row if cell)) in text, row
    for note in notes:  # a bucket with too few signals says so
        assert flat(note) in text
    for edge in track.edges:
        assert flat(formatting.fmt_edge(edge)) in text
    assert flat(track.reading) in text
    assert flat(track.not_point_in_time) in text
    for signal in track.recent:
        assert flat(formatting.fmt_signal(signal, excess=True)) in text
    # The methodology says how, and what is left out.
    assert "Track record" in text and "would leak" in text


def test_a_thin_bucket_says_na_in_every_interface() -> None:
    """TSLA's 4/5 bucket has fewer than 10 signals in these ten years."""
    record = _record("TSLA")
    track = record.analysis.track_record
    assert track is not None
    thin = [b for b in track.buckets if b.mean is None]
    assert thin, "expected a bucket below the minimum"
    figures = dict(formatting.key_figures(record.snapshot, record.analysis))
    for bucket in thin:
        assert bucket.missing == f"n/a ({bucket.signals} signals, need at least 10)"
        assert bucket.missing in figures.values()
        assert bucket.missing in render_table(track)


def test_the_json_result_carries_the_record_with_provenance(tmp_path: Path) -> None:
    out = io.StringIO()
    code = main(["analyze", "Analyze KO", "--json", "--reports-dir", str(tmp_path)], out=out)
    assert code == 0
    [result] = json.loads(out.getvalue())["results"]
    as_of = date.fromisoformat(result["data"]["as_of"])
    snapshot = PROVIDER.snapshot("KO", as_of=as_of)
    expected = analyze_stock_performance(snapshot, provider=PROVIDER).track_record
    assert result["track_record"] == to_jsonable(expected)
    assert "track_record" not in result["analysis"]
    source = result["track_record"]["source"]
    assert source["source"].startswith("computed: technical score recomputed at each month end")
    assert source["as_of"] == as_of.isoformat() and source["missing"] == ""
    figures = [f for f in result["figures"] if f["group"] == "Track Record"]
    assert {f["label"] for f in figures} >= {"Track Record Signals", "Track Record Reading"}
    assert all(f["source"] == source["source"] for f in figures)


@pytest.mark.parametrize(
    "prompt",
    [
        "has its technical score been any good?",
        "how did the last few signals do?",
        "what is the track record of the score?",
        "show me the backtest",
    ],
)
def test_questions_about_the_track_record_are_answered_from_it(prompt: str) -> None:
    records = {"AAPL": _record("AAPL")}
    record = records["AAPL"]
    vocabulary = build_vocabulary(formatting.figure_label_groups(record.snapshot, record.analysis))
    aspects = vocabulary.aspects_in(prompt)
    assert "Track Record Reading" in aspects and "Recent Signal 1" in aspects
    plan = RequestPlan("question", subjects=("AAPL",), aspects=aspects, reused=("AAPL",))
    text = deterministic_answer(plan, records)
    track = records["AAPL"].analysis.track_record
    assert track is not None and track.reading in text
    assert formatting.fmt_signal(track.recent[-1], excess=True) in text
    facts = answer_facts(records, track_record_detail=True)
    assert check_narrative(text, allowed=allowed_answer_figures(records, facts)) is None, text


def test_a_narrative_prompt_carries_only_the_summary() -> None:
    records = {"AAPL": _record("AAPL")}
    [short] = answer_facts(records)
    [full] = answer_facts(records, track_record_detail=True)
    assert "Track Record Reading" in short["key_figures"]
    assert "Score 5/5 Forward 1-Month Excess" not in short["key_figures"]
    assert "Score 5/5 Forward 1-Month Excess" in full["key_figures"]


def test_the_record_survives_the_session_json() -> None:
    record = _record("MSFT")
    packed = json.loads(json.dumps(pack_record(record)))
    assert unpack_record(packed) == record
    assert "buckets_columns" in packed["analysis"]["track_record"]


# ---------------------------------------------------------------------------
# stock-agent backtest
# ---------------------------------------------------------------------------


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return main(argv, out=out), out.getvalue()


def test_backtest_prints_the_same_table_the_report_uses() -> None:
    code, text = _run(["backtest", "aapl", "--as-of", AS_OF.isoformat()])
    assert code == 0
    track = _record("AAPL").analysis.track_record
    assert track is not None and text == render_table(track)
    header, rows, _ = formatting.track_record_table(track)
    assert " ".join(header[:3]) in " ".join(text.split())
    assert all(row[0] in text for row in rows)
    code, body = _run(["backtest", "AAPL", "--as-of", AS_OF.isoformat(), "--json"])
    assert code == 0 and json.loads(body) == to_jsonable(track)


def test_backtest_since_narrows_the_period() -> None:
    code, body = _run(["backtest", "KO", "--as-of", "2026-11-30", "--since", "2021-01-01",
                       "--json"])  # fmt: skip
    assert code == 0
    record = json.loads(body)
    assert record["first_signal"] == "2021-01-29" and record["signals"] == 71


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["backtest", "NOPE"], "unknown ticker 'NOPE'"),
        (["backtest", "AAPL", "--since", "2031-01-01", "--as-of", "2026-11-30"], "must be before"),
        (["backtest", "AAPL", "--since", "yesterday"], "not a date"),
        (["backtest", "AA PL"], "not a ticker"),
    ],
)
def test_backtest_bad_input_is_one_line_exit_2(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _run(argv)
    err = capsys.readouterr().err
    assert code == 2 and words in err and err.count("\n") == 1


# ---------------------------------------------------------------------------
# yfinance: a frame with a gap, a NaN row and a split
# ---------------------------------------------------------------------------


def _frame(start: str, end: str, *, level: float, split_day: str | None, adjusted: bool,
           gap: tuple[str, str] | None = None) -> pd.DataFrame:  # fmt: skip
    """``Ticker.history``'s shape: a tz-aware index and its seven columns."""
    index = pd.bdate_range(start, end, tz="America/New_York")
    if gap is not None:
        index = index[(index < pd.Timestamp(gap[0], tz="America/New_York"))
                      | (index > pd.Timestamp(gap[1], tz="America/New_York"))]  # fmt: skip
    closes = [level * (1.0004**i) * (1.03 if (i // 40) % 2 else 1.0) for i in range(len(index))]
    volumes = [1_000_000.0] * len(index)
    splits = [0.0] * len(index)
    if split_day is not None:
        at = int(index.searchsorted(pd.Timestamp(split_day, tz="America/New_York")))
        splits[at] = 4.0
        if not adjusted:  # the closes before the split are still in pre-split dollars
            closes[:at] = [c * 4.0 for c in closes[:at]]
            volumes[:at] = [v / 4.0 for v in volumes[:at]]
    closes[len(index) // 3] = float("nan")  # yfinance's NaN row
    return pd.DataFrame(
        {"Open": closes, "High": closes, "Low": closes, "Close": closes, "Volume": volumes,
         "Dividends": 0.0, "Stock Splits": splits},
        index=index,
    )  # fmt: skip


class FrameTicker:
    def __init__(self, frame: pd.DataFrame, info: dict[str, Any]) -> None:
        self._frame, self.info = frame, info

    def history(self, *, start: str, end: str, **_: Any) -> pd.DataFrame:
        index = self._frame.index
        keep = (index >= pd.Timestamp(start, tz=index.tz)) & (
            index < pd.Timestamp(end, tz=index.tz)
        )
        return self._frame[keep]


@pytest.mark.parametrize("adjusted", [True, False])
def test_a_yfinance_frame_with_a_gap_and_a_split(adjusted: bool) -> None:
    gap = ("2022-03-07", "2022-05-13")  # no session for all of April 2022
    stock = _frame("2018-01-01", "2024-06-28", level=50.0, split_day="2020-08-31",
                   adjusted=adjusted, gap=gap)  # fmt: skip
    spy = _frame("2018-01-01", "2024-06-28", level=300.0, split_day=None, adjusted=True)
    frames = {"ACME": stock, "SPY": spy}
    provider = YFinanceProvider(
        ticker_factory=lambda symbol: FrameTicker(frames[symbol], {"currency": "USD"})
    )
    history = provider.history("ACME", start=date(2018, 1, 1), end=date(2024, 6, 28))
    days = [p.day for p in history.prices]
    closes = {p.day: p.close for p in history.prices}
    assert len(days) == len(stock.index) - 1  # the NaN row is dropped, nothing is invented
    assert not any(date(2022, 3, 7) <= d <= date(2022, 5, 13) for d in days)
    # Adjusted or not in the frame, the history has no 75 % fall on the split day.
    assert closes[date(2020, 8, 31)] / closes[date(2020, 8, 28)] == pytest.approx(1.0004, rel=0.01)
    assert history.benchmark is not None and history.benchmark.symbol == "SPY"

    record = compute_track_record(history, as_of=date(2024, 6, 28), since=date(2019, 1, 1))
    by_day = {s.day: s for s in record.recent}
    assert record.signals > 50 and len(by_day) == 6
    signals = {s.day.isoformat()[:7]: s for s in _all_signals(history)}
    # March ends inside the gap and April has no session: neither gives a signal, and
    # February's 1-month window has no end (not a partial month to 4 March).
    assert "2022-03" not in signals and "2022-04" not in signals
    assert signals["2022-02"].end_1m is None
    assert signals["2022-02"].end_3m is not None  # (May's month end is there)
    assert all(abs(s.return_1m or 0.0) < 0.2 for s in signals.values())  # no split jump


def _all_signals(history: Any) -> list[Any]:
    from stock_agent.analysis.track_record import signals_of

    return signals_of(history, since=date(2019, 1, 1))
