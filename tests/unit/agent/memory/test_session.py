"""What a session keeps: records round-trip through its JSON; the bounds drop the oldest first."""

from __future__ import annotations

import json
from datetime import date

import pytest
from stock_agent.memory.session import (
    last_tickers,
    pack_record,
    remember_turn,
    session_records,
    unpack_record,
)

from tests.support.records import session_record

AS_OF = date(2026, 11, 30)


def test_records_round_trip_through_the_session_json() -> None:
    record = session_record("BRK.B")
    packed = pack_record(record)
    assert json.loads(json.dumps(packed)) == packed  # plain JSON
    assert unpack_record(packed) == record


@pytest.mark.parametrize("turns", [3, 4, 5])
def test_bounds_drop_the_oldest_turns_and_records_at_the_edge(turns: int) -> None:
    max_turns, max_records = 4, 2
    session = None
    symbols = ["AAPL", "MSFT", "KO", "NVDA", "PG"]
    for i in range(turns):
        session = remember_turn(
            session,
            turn={
                "request_id": f"r{i}",
                "prompt": f"p{i}",
                "intent": "analyze",
                "tickers": [symbols[i]],
            },
            records={symbols[i]: session_record(symbols[i])},
            max_turns=max_turns,
            max_records=max_records,
        )
    assert session is not None
    kept = [t["request_id"] for t in session["turns"]]
    assert kept == [f"r{i}" for i in range(max(0, turns - max_turns), turns)]
    assert list(session["records"]) == symbols[turns - max_records : turns]
    assert last_tickers(session) == [symbols[turns - 1]]
    assert set(session_records(session)) == set(symbols[turns - max_records : turns])


def test_the_session_keeps_what_follow_ups_can_ask_about_once() -> None:
    from stock_agent import formatting
    from stock_agent.memory.session import remembered_figure_groups

    session = None
    for i, symbol in enumerate(["AAPL", "MSFT", "KO"]):
        session = remember_turn(
            session,
            turn={"request_id": f"r{i}", "prompt": "p", "intent": "analyze", "tickers": [symbol]},
            records={symbol: session_record(symbol)},
            max_turns=5,
            max_records=2,
        )
    assert session is not None and list(session["records"]) == ["MSFT", "KO"]
    groups = remembered_figure_groups(session)
    record = session_record("KO")
    expected = formatting.figure_label_groups(record.snapshot, record.analysis)
    assert [title for title, _ in groups] == [title for title, _ in expected]
    assert all(labels == sorted(set(labels), key=labels.index) for _, labels in groups)
    # a session saved before the groups were kept reads them from its records
    older = {"turns": session["turns"], "records": session["records"]}
    assert remembered_figure_groups(older) == groups  # type: ignore[arg-type]
    assert remembered_figure_groups(None) == []
    assert json.loads(json.dumps(session)) == session  # plain JSON
