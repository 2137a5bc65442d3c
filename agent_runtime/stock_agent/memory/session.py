"""What a conversation remembers: its turns and the structured records they produced.

The session lives in the LangGraph checkpoint (:mod:`stock_agent.memory.checkpoints`), so
it is plain JSON data (strings, numbers, lists, dicts): any checkpointer can
store it, nothing is unpickled, and its size is easy to bound and measure.

- ``turns``: one entry per answered request (prompt, intent, tickers), at most
  ``max_turns``; the oldest goes first.
- ``records``: per symbol, the last snapshot, analysis, narrative and report
  of that ticker, at most ``max_records``; the least recently produced goes
  first. A follow-up ("what is its beta?", "why is the risk high?") is
  answered from these records and nothing else.

Text from earlier turns (a prompt that says "ignore previous instructions")
is stored and shown as data; no stored text ever becomes an instruction:
routing reads only the current prompt, and answers are built from records.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import (
    Any,
    Literal,
    Required,
    TypedDict,
    TypeVar,
    cast,
    get_args,
    get_origin,
    get_type_hints,
)

from .. import formatting
from ..records import (
    Narrative,
    PricePoint,
    ReportRef,
    StockAnalysis,
    StockSnapshot,
    to_jsonable,
)

T = TypeVar("T")


class Turn(TypedDict):
    """One answered request."""

    request_id: str
    prompt: str
    intent: str
    tickers: list[str]


class SessionMemory(TypedDict, total=False):
    """The JSON-ready state a session carries from turn to turn."""

    turns: Required[list[Turn]]
    # symbol -> packed record; insertion order = recency (oldest first)
    records: Required[dict[str, dict[str, Any]]]
    # [[group title, [label key, ...]], ...] of every record produced in the session: what a
    # follow-up can ask about, kept once for the session (a session saved before it existed
    # reads it from its records).
    figure_groups: list[list[Any]]


def empty_session() -> SessionMemory:
    return {"turns": [], "records": {}}


@dataclass(frozen=True)
class SessionRecord:
    """One ticker's records as remembered by the session."""

    snapshot: StockSnapshot
    analysis: StockAnalysis
    narrative: Narrative
    report: ReportRef
    generated_at: datetime


# ---------------------------------------------------------------------------
# records <-> JSON
# ---------------------------------------------------------------------------


def _from_json(tp: Any, value: Any) -> Any:
    """Rebuild a value of type ``tp`` from :func:`~stock_agent.records.to_jsonable` output."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        options = [a for a in get_args(tp) if a is not type(None)]
        return _from_json(options[0], value)
    if origin is Literal:
        return value
    if origin in (dict, collections.abc.Mapping):
        _, item_type = get_args(tp)
        return {k: _from_json(item_type, v) for k, v in value.items()}
    if origin is tuple:
        (item,) = [a for a in get_args(tp) if a is not Ellipsis]
        return tuple(v if isinstance(v, item) else _from_json(item, v) for v in value)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return from_jsonable(tp, value)
    if tp is datetime:
        return datetime.fromisoformat(value)
    if tp is date:
        return date.fromisoformat(value)
    if tp is float and isinstance(value, int):
        return float(value)
    return value


def from_jsonable(cls: type[T], data: dict[str, Any]) -> T:
    """The dataclass ``cls`` from its JSON form; fields missing from ``data`` keep defaults.

    Generic over the record's fields, so a field added to a record later is
    remembered without a change here.
    """
    hints = _field_types(cast(type, cls))
    kwargs = {k: _from_json(hints[k], v) for k, v in data.items() if k in hints}
    return cls(**kwargs)


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    """The resolved field types of a record class (resolving annotations is slow: once)."""
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _columns(prices: tuple[PricePoint, ...]) -> dict[str, list[Any]]:
    return {
        "day": [p.day.isoformat() for p in prices],
        "close": [p.close for p in prices],
        "volume": [p.volume for p in prices],
    }


def _points(columns: dict[str, list[Any]]) -> tuple[PricePoint, ...]:
    return tuple(
        PricePoint(day=date.fromisoformat(d), close=float(c), volume=int(v))
        for d, c, v in zip(columns["day"], columns["close"], columns["volume"], strict=True)
    )


_TRACK_ROWS = ("buckets", "edges", "recent")


def _rows_to_columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    names = list(rows[0]) if rows else []
    return {name: [row[name] for row in rows] for name in names}


def _columns_to_rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(columns)
    count = len(columns[names[0]]) if names else 0
    return [{name: columns[name][i] for name in names} for i in range(count)]


def pack_record(record: SessionRecord) -> dict[str, Any]:
    """A record as compact JSON: the price histories (the ticker's and its benchmark's) as
    three columns each, not 252 objects."""
    prices = record.snapshot.prices
    bench = record.snapshot.benchmark
    snapshot = to_jsonable(
        dataclasses.replace(
            record.snapshot,
            prices=(),
            benchmark=dataclasses.replace(bench, prices=()) if bench is not None else None,
        )
    )
    snapshot.pop("prices")
    snapshot["prices_columns"] = _columns(prices)
    if bench is not None:
        snapshot["benchmark"].pop("prices")
        snapshot["benchmark"]["prices_columns"] = _columns(bench.prices)
    analysis = to_jsonable(record.analysis)
    track = analysis.get("track_record")
    if track:  # its buckets and recent signals as columns: field names once, not per row
        for key in _TRACK_ROWS:
            track[f"{key}_columns"] = _rows_to_columns(track.pop(key))
    return {
        "snapshot": snapshot,
        "analysis": analysis,
        "narrative": {"text": record.narrative.text, "source": record.narrative.source},
        "report": to_jsonable(record.report),
        "generated_at": record.generated_at.isoformat(),
    }


def unpack_record(packed: dict[str, Any]) -> SessionRecord:
    """The inverse of :func:`pack_record`."""
    snapshot = dict(packed["snapshot"])
    prices = _points(snapshot.pop("prices_columns"))
    bench = snapshot.get("benchmark")
    if bench is not None and "prices_columns" in bench:  # records packed before stay readable
        bench = dict(bench)
        bench["prices"] = _points(bench.pop("prices_columns"))
        snapshot["benchmark"] = bench
    analysis = dict(packed["analysis"])
    track = analysis.get("track_record")
    if track:
        track = dict(track)
        for key in _TRACK_ROWS:
            if f"{key}_columns" in track:
                track[key] = _columns_to_rows(track.pop(f"{key}_columns"))
        analysis["track_record"] = track
    return SessionRecord(
        snapshot=from_jsonable(StockSnapshot, {**snapshot, "prices": prices}),
        analysis=from_jsonable(StockAnalysis, analysis),
        narrative=Narrative(text=packed["narrative"]["text"], source=packed["narrative"]["source"]),
        report=from_jsonable(ReportRef, packed["report"]),
        generated_at=datetime.fromisoformat(packed["generated_at"]),
    )


# ---------------------------------------------------------------------------
# bounds
# ---------------------------------------------------------------------------


def remember_turn(
    session: SessionMemory | None,
    *,
    turn: Turn,
    records: dict[str, SessionRecord],
    max_turns: int,
    max_records: int,
) -> SessionMemory:
    """The session after one more turn, within the bounds (oldest turns/records out).

    Deterministic: the same history always drops the same entries. A symbol
    produced again moves to the newest end.
    """
    previous = session or empty_session()
    turns = [*previous["turns"], turn][-max_turns:]
    kept = {s: r for s, r in previous["records"].items() if s not in records}
    kept.update({s: pack_record(r) for s, r in records.items()})
    symbols = list(kept)[-max_records:]
    groups = _merged_groups(
        [
            *remembered_figure_groups(previous),
            *(g for r in records.values()
              for g in formatting.figure_label_groups(r.snapshot, r.analysis)),
        ]
    )  # fmt: skip
    return {
        "turns": turns,
        "records": {s: kept[s] for s in symbols},
        "figure_groups": [[title, labels] for title, labels in groups],
    }


def session_records(
    session: SessionMemory | None, *, symbols: Iterable[str] | None = None
) -> dict[str, SessionRecord]:
    """The remembered records (all, or those of ``symbols``), oldest first."""
    if not session:
        return {}
    wanted = None if symbols is None else set(symbols)
    return {
        s: unpack_record(r) for s, r in session["records"].items() if wanted is None or s in wanted
    }


def _merged_groups(groups: Iterable[Sequence[Any]]) -> list[tuple[str, list[str]]]:
    """Groups of the same title as one, each label once, in the order first seen."""
    merged: dict[str, list[str]] = {}
    for title, labels in groups:
        held = merged.setdefault(str(title), [])
        held.extend(str(label) for label in labels if str(label) not in held)
    return list(merged.items())


def remembered_figure_groups(session: SessionMemory | None) -> list[tuple[str, list[str]]]:
    """The figure label groups a follow-up in this session can ask about.

    Kept in the session by :func:`remember_turn`; a session saved before that
    reads them from its records (unpacked once).
    """
    if not session:
        return []
    kept = session.get("figure_groups")
    if isinstance(kept, list):
        return _merged_groups(g for g in kept if isinstance(g, list) and len(g) == 2)
    return _merged_groups(
        g
        for packed in session["records"].values()
        for record in [unpack_record(packed)]
        for g in formatting.figure_label_groups(record.snapshot, record.analysis)
    )


def last_tickers(session: SessionMemory | None) -> list[str]:
    """The tickers of the most recent turn that named any, still remembered."""
    if not session:
        return []
    for turn in reversed(session["turns"]):
        remembered = [s for s in turn["tickers"] if s in session["records"]]
        if remembered:
            return remembered
    return list(session["records"])[-1:]
