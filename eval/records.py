"""The agent's records rebuilt from a response, so graders check figures against them.

A response carries each ticker's snapshot (``data``, its price history
summarised) and analysis in full. The graders rebuild the typed records with
the agent's own JSON reader (:func:`stock_agent.memory.session.from_jsonable`, the one
the session memory uses) and call the agent's own formatting and number check
on them: one definition of "this figure is in the record", shared with the agent.
"""

from __future__ import annotations

from typing import Any

from stock_agent.memory.session import from_jsonable
from stock_agent.records import StockAnalysis, StockSnapshot


def snapshot_from_data(data: dict[str, Any]) -> StockSnapshot:
    """A :class:`StockSnapshot` from a result's ``data``.

    The daily series are not sent (the ticker's, nor its benchmark's); no figure
    the graders format needs them.
    """
    benchmark = data.get("benchmark")
    if isinstance(benchmark, dict):
        benchmark = {**benchmark, "prices": ()}
    return from_jsonable(StockSnapshot, {**data, "prices": (), "benchmark": benchmark})


def analysis_from_json(analysis: dict[str, Any]) -> StockAnalysis:
    """A :class:`StockAnalysis` from a result's ``analysis``."""
    return from_jsonable(StockAnalysis, analysis)


def records_of(result: dict[str, Any]) -> tuple[StockSnapshot, StockAnalysis]:
    """Both records of one result; ``KeyError``/``TypeError``/``ValueError`` when malformed.

    The response carries the track record beside the analysis (``track_record``); it is
    put back into the analysis, where the agent's formatting looks for it.
    """
    analysis = {**result["analysis"], "track_record": result.get("track_record")}
    return snapshot_from_data(result["data"]), analysis_from_json(analysis)
