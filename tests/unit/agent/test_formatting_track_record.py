"""The track record's bucket table as the PDF and ``stock-agent backtest`` print it: one row
per technical score, highest first, then one per price-only outlook, each only where both
horizons have a bucket."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from stock_agent.formatting import TRACK_TABLE_HEADER, track_record_table

from tests.support.records import simulated_record

ALL_ROWS = [
    "Score 5/5", "Score 4/5", "Score 3/5", "Score 2/5", "Score 1/5",
    "Outlook positive*", "Outlook neutral*", "Outlook negative*",
]  # fmt: skip


def _record():  # type: ignore[no-untyped-def]
    _, analysis = simulated_record("AAPL", as_of=date(2026, 11, 30), track_record=True)
    assert analysis.track_record is not None
    return analysis.track_record


def test_every_score_then_every_outlook_in_order() -> None:
    record = _record()
    assert len({(b.signal, b.bucket) for b in record.buckets}) == len(ALL_ROWS)
    header, rows, _ = track_record_table(record)
    assert header == list(TRACK_TABLE_HEADER)
    assert [row[0] for row in rows] == ALL_ROWS
    assert all(len(row) == len(header) for row in rows)


def test_a_bucket_missing_a_horizon_has_no_row() -> None:
    record = _record()
    kept = tuple(
        b
        for b in record.buckets
        if not (b.bucket == "5" and b.horizon == "3M")
        and not (b.bucket == "neutral" and b.horizon == "1M")
    )
    _, rows, _ = track_record_table(replace(record, buckets=kept))
    assert [row[0] for row in rows] == [
        r for r in ALL_ROWS if r not in ("Score 5/5", "Outlook neutral*")
    ]
