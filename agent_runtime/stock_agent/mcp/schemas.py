"""The tools' JSON schemas, derived from the typed records and the validators' limits.

Output schemas are pydantic's JSON schemas of the shapes below, whose fields
are the agent's own records (:class:`~stock_agent.records.StockAnalysis`,
:class:`~stock_agent.formatting.FigureRow`,
:class:`~stock_agent.contract.ReportJson`, ...): a field added to a record
appears in the schema without an edit here. Every object is closed
(``additionalProperties: false``) and every ``$ref`` inlined, so a client
that validates (the official SDK does) catches any drift between a result
and its schema, and a client that cannot follow references still reads them.

Input schemas carry the limits the validators enforce (the ticker length,
the number of tickers) from the same constants; the server checks the
arguments itself either way (:mod:`stock_agent.mcp.arguments`).
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from functools import cache
from typing import Any

from typing_extensions import TypedDict  # pydantic reads it on 3.11

from ..contract import ReportJson
from ..formatting import FigureRow
from ..records import NarrativeSource, StockAnalysis, StockSnapshot, TrackRecord
from ..reports.comparison import Leader
from ..settings import MAX_TICKERS_PER_REQUEST
from ..understanding.parsing import MAX_SYMBOL_CHARS
from .arguments import MAX_FIGURE_CHARS, MIN_COMPARE_SYMBOLS

JsonSchema = dict[str, Any]


# ---------------------------------------------------------------------------
# The shapes of the results (declarations for the schemas; the values are built
# by stock_agent.mcp.toolbox from the records with records.to_jsonable)
# ---------------------------------------------------------------------------


class PriceHistorySummary(TypedDict):
    """How many daily sessions the figures were computed from, first and last."""

    sessions: int
    first_day: date | None
    last_day: date | None


class HistoryPoint(TypedDict):
    """One session of the daily series (with ``include_history``)."""

    date: date
    close: float
    volume: int


class NarrativeJson(TypedDict):
    """The analyst narrative as the HTTP contract shows it."""

    text: str
    source: NarrativeSource
    model_calls: int


class GatheredData(TypedDict):
    """``gather_stock_data``: the snapshot (``data``) and the figures of its section."""

    symbol: str
    data: dict[str, Any]  # schema: snapshot_data_schema()
    figures: list[FigureRow]


class PerformanceAnalysis(TypedDict):
    """``analyze_stock_performance``: verdicts, track record, every figure, narrative."""

    symbol: str
    analysis: dict[str, Any]  # schema: analysis_schema()
    track_record: TrackRecord | None
    figures: list[FigureRow]
    narrative: NarrativeJson


class StoredReport(TypedDict):
    """``generate_stock_report``: where the PDF is and how to check it."""

    symbol: str
    as_of: date
    generated_at: datetime
    narrative_source: NarrativeSource
    report: ReportJson


class Comparison(TypedDict):
    """``compare_stocks``: the table, the leaders, the narrative and every PDF written."""

    symbols: list[str]
    table: dict[str, dict[str, str]]
    leaders: list[Leader]
    narrative: str
    narrative_source: NarrativeSource
    report: ReportJson
    reports: dict[str, ReportJson]


class OneFigure(TypedDict):
    """``get_figure``: one figure with its source and as-of date."""

    symbol: str
    company_name: str
    asked: str
    figure: FigureRow


class ToolError(TypedDict):
    """The body of a tool error: the HTTP contract's ``error`` object."""

    code: str
    message: str


# ---------------------------------------------------------------------------
# schema derivation
# ---------------------------------------------------------------------------


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``$ref`` replaced by its definition, titles dropped, objects closed
    and every field that is always written required."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        return _inline(defs[name], defs)
    out = {k: _inline(v, defs) for k, v in node.items() if k not in ("title", "$defs")}
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
        # A record's field with a default is always in its JSON (to_jsonable writes every
        # field); only a TypedDict's NotRequired key (no default) may be absent.
        defaulted = [name for name, prop in out["properties"].items() if "default" in prop]
        out["required"] = [*out.get("required", []), *defaulted]
    return out


def schema_of(shape: Any) -> JsonSchema:
    """The JSON schema of ``shape`` (a record, a TypedDict, a list of them) as results carry it."""
    from pydantic import TypeAdapter

    raw = TypeAdapter(shape).json_schema(mode="serialization")
    return _inline(raw, raw.get("$defs", {}))


@cache
def snapshot_data_schema() -> JsonSchema:
    """The schema of :func:`stock_agent.contract.data_json`: the snapshot with its daily
    series summarised (``price_history``; ``history`` only when asked for) and the
    benchmark's series counted (``sessions``)."""
    schema = schema_of(StockSnapshot)
    properties = schema["properties"]
    del properties["prices"]
    schema["required"] = [
        *(name for name in schema["required"] if name != "prices"),
        "price_history",
    ]
    properties["price_history"] = schema_of(PriceHistorySummary)
    properties["history"] = schema_of(list[HistoryPoint])
    for option in properties["benchmark"]["anyOf"]:
        if option.get("type") == "object":
            option["description"] = "The index the stock is measured against (its series counted)."
            del option["properties"]["prices"]
            option["properties"]["sessions"] = {"type": "integer"}
            option["required"] = [*(n for n in option["required"] if n != "prices"), "sessions"]
    return schema


@cache
def analysis_schema() -> JsonSchema:
    """The schema of :func:`stock_agent.contract.analysis_json`: the analysis record
    without its track record (the result's own ``track_record`` key)."""
    schema = schema_of(StockAnalysis)
    del schema["properties"]["track_record"]
    schema["required"] = [name for name in schema["required"] if name != "track_record"]
    return schema


def _with(schema: JsonSchema, **properties: JsonSchema) -> JsonSchema:
    """``schema`` (an object) with some properties' schemas replaced."""
    out = copy.deepcopy(schema)
    out["properties"].update(properties)
    return out


@cache
def output_schemas() -> dict[str, JsonSchema]:
    """Tool name -> output schema."""
    return {
        "gather_stock_data": _with(schema_of(GatheredData), data=snapshot_data_schema()),
        "analyze_stock_performance": _with(
            schema_of(PerformanceAnalysis), analysis=analysis_schema()
        ),
        "generate_stock_report": schema_of(StoredReport),
        "compare_stocks": schema_of(Comparison),
        "get_figure": schema_of(OneFigure),
    }


def error_schema() -> JsonSchema:
    """The structured content of a tool error: ``{"error": {"code", "message"}}``."""
    return {
        "type": "object",
        "properties": {"error": schema_of(ToolError)},
        "required": ["error"],
        "additionalProperties": False,
    }


# ---------------------------------------------------------------------------
# input schemas
# ---------------------------------------------------------------------------

SYMBOL_SCHEMA: JsonSchema = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_SYMBOL_CHARS + 1,  # a leading "$" is allowed
    "description": (
        "A ticker symbol, e.g. AAPL, BRK.B (or brk-b), SIM_STOCK; case does not matter."
    ),
}


def _object(properties: dict[str, JsonSchema], required: list[str]) -> JsonSchema:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def input_schemas() -> dict[str, JsonSchema]:
    """Tool name -> input schema."""
    symbol = {"symbol": SYMBOL_SCHEMA}
    return {
        "gather_stock_data": _object(
            {
                **symbol,
                "include_history": {
                    "type": "boolean",
                    "default": False,
                    "description": "Also return the daily series (date, close, volume).",
                },
            },
            ["symbol"],
        ),
        "analyze_stock_performance": _object(symbol, ["symbol"]),
        "generate_stock_report": _object(symbol, ["symbol"]),
        "compare_stocks": _object(
            {
                "symbols": {
                    "type": "array",
                    "items": SYMBOL_SCHEMA,
                    "minItems": MIN_COMPARE_SYMBOLS,
                    "maxItems": MAX_TICKERS_PER_REQUEST,
                    "description": (
                        f"{MIN_COMPARE_SYMBOLS} to {MAX_TICKERS_PER_REQUEST} distinct tickers."
                    ),
                }
            },
            ["symbols"],
        ),
        "get_figure": _object(
            {
                **symbol,
                "figure": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_FIGURE_CHARS,
                    "description": (
                        "A figure's label as the report prints it (e.g. 'P/E Ratio', "
                        "'RSI (14)', 'Max Drawdown (1Y)', 'Free Cash Flow') or a common "
                        "name for it ('pe ratio', 'dividend', 'market cap')."
                    ),
                },
            },
            ["symbol", "figure"],
        ),
    }
