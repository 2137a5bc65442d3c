"""Payload in, response out: strict validation and the response's shape and text.

Validation is strict because the payload comes from the network:

- the body is at most :data:`MAX_PAYLOAD_BYTES`, UTF-8, strict JSON (no
  ``NaN``/``Infinity``; nested at most
  :data:`~stock_agent.bounded_json.MAX_JSON_DEPTH` levels, counted before
  parsing, whatever the interpreter's recursion limit) and a JSON **object**;
- ``prompt``: a string, non-empty after stripping, at most
  :data:`~stock_agent.settings.MAX_PROMPT_CHARS` characters, with no control
  characters other than newline and tab, and no invisible format characters
  (zero-width space and joiners, BOM, bidirectional overrides: Unicode
  category Cf), which would split ``AA\u200bPL`` into a different ticker
  than the one the user sees; the message names them;
- ``session_id`` (optional): 1–256 characters of ``[A-Za-z0-9_.:-]``;
- ``stream`` (optional): a boolean;
- ``include_history`` (optional): a boolean; ``true`` keeps each result's
  daily series (date, close, volume) in ``results[].data.history``;
- any other key is **ignored** and named in the response's ``warnings``
  (a newer client may send fields this version does not know; refusing
  them would break it for no safety gain).

The response (see :func:`build_response`) is built from the typed records
in the graph state; its ``text`` and per-ticker ``sections`` print figures
only through :mod:`stock_agent.formatting`, the same rows the PDF prints.
Each result carries ``track_record``: the ticker's technical score recomputed
at past month ends and the forward returns that followed, summarised per score
bucket, with its provenance in ``track_record.source`` (``null`` when the
analysis had no provider to ask). Besides today's keys it carries ``intent``
(``analyze`` | ``compare`` | ``question``), ``session_id`` (echoed), ``answer``
(the text answer of a question, else ``null``), ``comparison`` (``{"symbols", "table", "leaders",
"narrative", "narrative_source", "report": {"uri", "key", "bytes", "sha256",
"url"?}}`` for a comparison, else ``null``), ``plan`` (the turn's request plan:
``intent``, ``subjects``, ``aspects``, ``operator``, ``time_frame``, ``why``,
``reused``, ``confident``, ``source`` (rules | model), ``note``) and, for a
request with a session, ``session_saved``. A report's ``url`` (a presigned HTTPS GET of that
one key) is present only where the store can sign one (S3). ``model_status`` is
``null``, or, when a text was written without the model because it was
starting after scale-to-zero, ``{"status": "starting", "retry_after_s",
"retry_at", "message"}``: when to ask again for a model-written text (the
message is also a warning).
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import (
    TYPE_CHECKING,
    Any,
    NotRequired,  # pydantic reads it on 3.11
    Protocol,
)

from typing_extensions import TypedDict

from . import bounded_json, formatting
from .answering import personal
from .errors import AgentError
from .memory.session import session_records
from .memory.user_profile import UserProfile
from .records import Narrative, ReportRef, StockAnalysis, StockSnapshot, to_jsonable
from .settings import MAX_PROMPT_CHARS, AgentSettings

if TYPE_CHECKING:
    from .state import AgentState

MAX_PAYLOAD_BYTES = 64 * 1024
_SESSION_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,256}")
_KNOWN_KEYS = frozenset(
    {"prompt", "session_id", "stream", "notify", "include_history", "scheduled"}
)
SECTION_TITLES = {
    "data_gathering": "STOCK DATA GATHERING REPORT",
    "performance_analysis": "STOCK PERFORMANCE ANALYSIS",
    "report_generation": "STOCK REPORT GENERATION",
}
_RULE = "=" * 40
# The figure groups the data-gathering section prints (market data, financial metrics);
# the rest belong to the performance analysis.
DATA_SECTION_GROUPS = 2


@dataclass(frozen=True)
class InvocationRequest:
    """A validated payload."""

    prompt: str
    session_id: str | None = None
    stream: bool = False
    ignored_keys: tuple[str, ...] = ()
    # Publish one SNS message about the run (stock_agent.server.notify); not with stream.
    notify: bool = False
    include_history: bool = False
    # The scheduled run's watchlists: "stack" (the prompt, as configured) or "users" (each
    # opted-in user's watchlist; stock_agent.server.scheduled). None: not a scheduled run.
    watchlist_source: str | None = None


WATCHLIST_SOURCES = ("stack", "users")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(body: bytes) -> Any:
    """The JSON value of a request body, or ``invalid_payload``/``payload_too_large``."""
    if len(body) > MAX_PAYLOAD_BYTES:
        raise AgentError(
            "payload_too_large",
            f"the request body has {len(body)} bytes; the limit is {MAX_PAYLOAD_BYTES}",
        )
    if not body.strip():
        raise AgentError("invalid_payload", "the request body is empty; send a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise AgentError(
            "invalid_payload", f"the request body is not UTF-8 (byte {err.start})"
        ) from None
    try:
        value = bounded_json.loads(text, parse_constant=_reject_constant)
    except bounded_json.JsonTooDeep:
        raise AgentError(
            "invalid_payload",
            f"the request body is nested too deeply (at most {bounded_json.MAX_JSON_DEPTH} levels)",
        ) from None
    except ValueError as err:
        raise AgentError(
            "invalid_payload", f"the request body is not valid JSON: {str(err)[:200]}"
        ) from None
    return value


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _bad_char(text: str) -> str | None:
    for ch in text:
        if ch not in "\n\t" and unicodedata.category(ch) == "Cc":
            return f"U+{ord(ch):04X}"
    return None


def _invisible_chars(text: str) -> list[str]:
    """The distinct format characters (category Cf) in ``text``, as ``U+200B ZERO WIDTH SPACE``."""
    found = dict.fromkeys(ch for ch in text if unicodedata.category(ch) == "Cf")
    return [f"U+{ord(ch):04X} {unicodedata.name(ch, 'FORMAT CHARACTER')}" for ch in found]


def checked_text(value: Any, *, name: str, max_chars: int = MAX_PROMPT_CHARS) -> str:
    """``value`` stripped, or the contract's error for a bad text field called ``name``.

    A string (``invalid_payload``), non-empty (``invalid_prompt``), at most
    ``max_chars`` characters (``prompt_too_long``), without control characters
    other than newline and tab, and without invisible format characters
    (``invalid_prompt``, naming them). The prompt and every text argument of
    the MCP tools go through here, so both refuse the same input with the same
    code and wording.
    """
    if not isinstance(value, str):
        raise AgentError("invalid_payload", f"'{name}' must be a string, not {_type_name(value)}")
    text = value.strip()
    if not text:
        raise AgentError("invalid_prompt", f"'{name}' is empty")
    if len(text) > max_chars:
        raise AgentError(
            "prompt_too_long", f"'{name}' has {len(text)} characters; the limit is {max_chars}"
        )
    bad = _bad_char(text)
    if bad is not None:
        raise AgentError("invalid_prompt", f"'{name}' contains the control character {bad}")
    invisible = _invisible_chars(text)
    if invisible:
        shown = ", ".join(invisible[:5]) + (" and more" if len(invisible) > 5 else "")
        raise AgentError(
            "invalid_prompt",
            f"'{name}' contains invisible formatting characters ({shown}); "
            "remove them and retype the ticker",
        )
    return text


def validate_payload(payload: Any) -> InvocationRequest:
    """Check a decoded payload against the contract; ``AgentError`` names what is wrong.

    Validation comes before parsing: a prompt with a control character is
    ``invalid_prompt`` whatever tickers it names.
    """
    if not isinstance(payload, dict):
        raise AgentError(
            "invalid_payload",
            f"the payload must be a JSON object with a 'prompt' string, not {_type_name(payload)}",
        )
    if "prompt" not in payload:
        raise AgentError("invalid_payload", "the payload has no 'prompt' string")
    prompt = checked_text(payload["prompt"], name="prompt")
    session_id = payload.get("session_id")
    if "session_id" in payload and (
        not isinstance(session_id, str) or not _SESSION_ID_RE.fullmatch(session_id)
    ):
        raise AgentError(
            "invalid_payload",
            "'session_id' must be a string of 1-256 characters from A-Z a-z 0-9 _ . : -",
        )
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise AgentError(
            "invalid_payload", f"'stream' must be true or false, not {_type_name(stream)}"
        )
    notify = payload.get("notify", False)
    if not isinstance(notify, bool):
        raise AgentError(
            "invalid_payload", f"'notify' must be true or false, not {_type_name(notify)}"
        )
    if notify and stream:
        raise AgentError("invalid_payload", "'notify' cannot be combined with 'stream'")
    include_history = payload.get("include_history", False)
    if not isinstance(include_history, bool):
        raise AgentError(
            "invalid_payload",
            f"'include_history' must be true or false, not {_type_name(include_history)}",
        )
    source = _watchlist_source(payload.get("scheduled"), present="scheduled" in payload)
    if source is not None and stream:
        raise AgentError("invalid_payload", "'scheduled' cannot be combined with 'stream'")
    ignored = tuple(sorted(str(k)[:40] for k in payload if k not in _KNOWN_KEYS))
    return InvocationRequest(
        watchlist_source=source,
        prompt=prompt,
        session_id=session_id,
        stream=stream,
        ignored_keys=ignored[:10],
        notify=notify,
        include_history=include_history,
    )


def _watchlist_source(scheduled: Any, *, present: bool) -> str | None:
    """``scheduled``'s ``watchlist_source`` (``None`` when the payload has no ``scheduled``)."""
    if not present:
        return None
    allowed = " or ".join(repr(s) for s in WATCHLIST_SOURCES)
    if not isinstance(scheduled, dict) or set(scheduled) != {"watchlist_source"}:
        raise AgentError(
            "invalid_payload",
            f"'scheduled' must be an object with one key, 'watchlist_source' ({allowed})",
        )
    source = scheduled["watchlist_source"]
    if source not in WATCHLIST_SOURCES:
        raise AgentError(
            "invalid_payload", f"'scheduled.watchlist_source' must be {allowed}, not {source!r}"
        )
    return str(source)


def request_from_body(body: bytes) -> InvocationRequest:
    """:func:`parse_body` then :func:`validate_payload`."""
    return validate_payload(parse_body(body))


# ---------------------------------------------------------------------------
# Response
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TickerResult:
    """One ticker's finished records, as the response's sections print them."""

    symbol: str
    snapshot: StockSnapshot
    analysis: StockAnalysis
    narrative: Narrative
    report: ReportRef
    generated_at: datetime


def _lines(title: str, rows: list[str]) -> str:
    return "\n".join([title, *rows])


def data_gathering_section(snapshot: StockSnapshot, analysis: StockAnalysis) -> str:
    """The Data Gathering Agent's section: identity, then every key figure."""
    groups = formatting.key_figure_groups(snapshot, analysis)
    rows = [
        f"Stock Symbol: {snapshot.symbol}",
        f"Company Name: {snapshot.company_name}",
        f"Sector: {snapshot.sector}",
        f"Industry: {snapshot.industry}",
        f"Currency: {snapshot.currency}",
        f"Data: {snapshot.data_source}, as of {snapshot.as_of.isoformat()}",
    ]
    for title, figures in groups[:DATA_SECTION_GROUPS]:
        rows.append(f"{title.upper()}:")
        rows.extend(f"- {label}: {value}" for label, value in figures)
    if snapshot.headlines:
        rows.append("RECENT HEADLINES:")
        rows.extend(f"- {h.title} ({h.publisher})" for h in snapshot.headlines)
    return "\n".join(rows)


def performance_analysis_section(
    snapshot: StockSnapshot, analysis: StockAnalysis, narrative: Narrative
) -> str:
    """The Performance Analyzer's section: verdicts, scores, rationale, narrative."""
    tech, fund = analysis.technical, analysis.fundamental
    figures = dict(formatting.key_figures(snapshot, analysis))
    source = "language model" if narrative.source == "model" else "deterministic, no model"
    rows = [
        f"Stock: {snapshot.symbol} | Current Price: {figures['Current Price']}",
        "TECHNICAL ANALYSIS:",
        f"- Price Trend: {tech.trend.upper()}",
        f"- Momentum: {tech.momentum}",
        f"- Volatility: {tech.volatility_level}",
        *(f"- {label}: {figures[label]}" for label in (
            "50-Day SMA", "200-Day SMA", "1-Month Return", "3-Month Return", "YTD Return")),
        f"- Technical Score: {formatting.fmt_score(tech.score)}",
        *(f"  * {line}" for line in tech.rationale),
        "FUNDAMENTAL ANALYSIS:",
        f"- Valuation: {fund.valuation}",
        f"- Profitability: {fund.profitability}",
        f"- Income: {fund.income}",
        *(f"- {label}: {figures[label]}" for label in (
            "P/E Ratio", "Profit Margin", "Dividend Yield", "Beta")),
        f"- Fundamental Score: {formatting.fmt_score(fund.score)}",
        *(f"  * {line}" for line in fund.rationale),
        "RISK:",
        f"- Risk Level: {analysis.risk_level}",
        *(f"  * {factor}" for factor in analysis.risk_factors),
        *formatting.evidence_lines(snapshot, analysis),  # indicators, benchmark, growth, peers
        f"OUTLOOK: {analysis.outlook.upper()}",
        f"ANALYST NARRATIVE ({source}):",
        narrative.text,
    ]  # fmt: skip
    return "\n".join(rows)


def report_generation_section(t: TickerResult) -> str:
    """The Report Generation Agent's section: where the PDF is and how to verify it."""
    stamp = t.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    location = "S3" if t.report.uri.startswith("s3://") else "local file"
    rows = [
        f"Stock: {t.symbol} | Sector: {t.snapshot.sector}",
        f"PDF report stored ({location}): {t.report.uri}",
        f"- Key: {t.report.key}",
        f"- Size: {formatting.fmt_int(t.report.bytes)} bytes",
        f"- SHA-256: {t.report.sha256}",
        f"- Generated: {stamp}",
        f"- Narrative: {'language model' if t.narrative.source == 'model' else 'deterministic'}",
        "REPORT CONTENTS:",
        "- Executive summary with key metrics",
        "- Market data and financial metrics",
        "- Technical and fundamental analysis, risk factors",
        *(["- Track record of the technical score"] if t.analysis.track_record else []),
        "- Analyst narrative",
    ]
    return "\n".join(rows)


def ticker_sections(t: TickerResult) -> dict[str, str]:
    """The three sections of one ticker (without the titles)."""
    return {
        "data_gathering": data_gathering_section(t.snapshot, t.analysis),
        "performance_analysis": performance_analysis_section(t.snapshot, t.analysis, t.narrative),
        "report_generation": report_generation_section(t),
    }


def render_text(per_ticker: list[tuple[str, dict[str, str]]], warnings: list[str]) -> str:
    """The human-readable answer: the three titled sections, a subsection per ticker."""
    blocks: list[str] = []
    multi = len(per_ticker) > 1
    for name, title in SECTION_TITLES.items():
        parts = [f"{title}:\n{_RULE}"]
        for symbol, sections in per_ticker:
            body = sections[name]
            parts.append(f"--- {symbol} ---\n{body}" if multi else body)
        blocks.append("\n".join(parts))
    if warnings:
        blocks.append(_lines("WARNINGS:", [f"- {w}" for w in warnings]))
    return "\n\n".join(blocks) + "\n"


def data_json(snapshot: StockSnapshot) -> dict[str, Any]:
    """The snapshot as JSON, with the price histories summarised (they are in the PDF).

    ``history`` holds the daily series the figures were computed from;
    :func:`apply_request_options` drops it unless the payload asked for it.
    ``sources`` maps each figure to its provenance (source, as-of, why missing).
    The daily series are most of the record, so they are written row by row here
    rather than walked field by field (and the benchmark's is only counted).
    """
    prices = snapshot.prices
    benchmark = snapshot.benchmark
    data: dict[str, Any] = to_jsonable(
        dataclasses.replace(
            snapshot,
            prices=(),
            benchmark=None if benchmark is None else dataclasses.replace(benchmark, prices=()),
        )
    )
    del data["prices"]
    data["price_history"] = {
        "sessions": len(prices),
        "first_day": prices[0].day.isoformat() if prices else None,
        "last_day": prices[-1].day.isoformat() if prices else None,
    }
    data["history"] = [
        {"date": p.day.isoformat(), "close": p.close, "volume": p.volume} for p in prices
    ]
    if benchmark is not None:
        del data["benchmark"]["prices"]
        data["benchmark"]["sessions"] = len(benchmark.prices)
    return data


def narrative_json(narrative: Narrative) -> dict[str, Any]:
    """The narrative as the contract shows it: its text, who wrote it, at how many calls."""
    return {
        "text": narrative.text,
        "source": narrative.source,
        "model_calls": narrative.model_calls,
    }


def analysis_json(analysis: StockAnalysis) -> dict[str, Any]:
    """The analysis as JSON; its track record is the result's own ``track_record`` key."""
    data: dict[str, Any] = to_jsonable(analysis)
    data.pop("track_record", None)
    return data


def apply_request_options(response: dict[str, Any], request: InvocationRequest) -> dict[str, Any]:
    """The response as the payload asked for it: without daily series unless ``include_history``."""
    if not request.include_history:
        for result in response.get("results", []):
            result.get("data", {}).pop("history", None)
    return response


class ReportLinker(Protocol):
    """A store that can hand out a time-limited HTTPS link to one stored report."""

    def link(self, key: str) -> str | None: ...


class ReportJson(TypedDict):
    """A stored report as the contract shows it."""

    uri: str  # s3://bucket/key or file:///abs/path
    key: str
    bytes: int
    sha256: str  # hex digest of the exact bytes stored
    url: NotRequired[str]  # a presigned HTTPS GET of that one key, where the store signs (S3)


def report_json(ref: ReportRef, *, link: ReportLinker | None = None) -> ReportJson:
    """A stored report as the contract shows it; ``url`` only where the store can sign one."""
    body = ReportJson(uri=ref.uri, key=ref.key, bytes=ref.bytes, sha256=ref.sha256)
    url = link.link(ref.key) if link is not None and hasattr(link, "link") else None
    if url:
        body["url"] = url
    return body


def build_response(
    state: AgentState, *, ctx: AgentSettings | None = None, link: Any = None
) -> dict[str, Any]:
    """The success response of the contract, from the graph's records.

    ``link``: the report store; when it can presign (S3), each report gets a ``url``.
    """
    tickers = [
        TickerResult(
            symbol=s,
            snapshot=state["snapshots"][s],
            analysis=state["analyses"][s],
            narrative=state["narratives"][s],
            report=state["reports"][s],
            generated_at=state["generated_at"][s],
        )
        for s in state.get("tickers", [])
        if s in state.get("reports", {})
    ]
    warnings = list(dict.fromkeys(state.get("warnings", [])))
    reasons = list(dict.fromkeys(state.get("degraded_reasons", [])))
    model_status = starting_model_status(max(state.get("model_starting_eta_s", []), default=None))
    if model_status is not None:
        warnings.append(model_status["message"])
    results: list[dict[str, Any]] = []
    per_ticker: list[tuple[str, dict[str, str]]] = []
    for t in tickers:
        sections = ticker_sections(t)
        per_ticker.append((t.symbol, sections))
        results.append(
            {
                "symbol": t.symbol,
                "data": data_json(t.snapshot),
                "analysis": analysis_json(t.analysis),
                "track_record": to_jsonable(t.analysis.track_record),
                "key_figures": dict(formatting.key_figures(t.snapshot, t.analysis)),
                "figures": formatting.figure_provenance(t.snapshot, t.analysis),
                "narrative": narrative_json(t.narrative),
                "report": report_json(t.report, link=link),
                "generated_at": t.generated_at.astimezone(UTC).isoformat(),
                "sections": sections,
            }
        )
    failures = state.get("failures", {})
    response: dict[str, Any] = {
        "request_id": state["request_id"],
        "session_id": state.get("session_id"),
        "tickers": list(state.get("tickers", [])),
        "intent": state.get("intent", "analyze"),
        "degraded": bool(reasons),
        "degraded_reason": "; ".join(reasons) if reasons else None,
        "warnings": warnings,
        "results": results,
        "failed": [
            {"symbol": s, "stage": f["stage"], "code": f["code"], "message": f["message"]}
            for s, f in failures.items()
        ],
        "text": _turn_text(state, per_ticker, warnings, tickers),
        "answer": state.get("answer"),
        "plan": state.get("plan"),
        "comparison": _comparison_json(state.get("comparison"), link=link),
        "user": _user_json(state),
        "model_status": model_status,
        "metrics": {
            "timings_ms": dict(state.get("timings_ms", {})),
            "model_calls": state.get("model_calls", 0),
            "prompt_tokens": state.get("prompt_tokens", 0),
            "completion_tokens": state.get("completion_tokens", 0),
            "model_provider": ctx.model_provider if ctx else None,
            "data_provider": ctx.data_provider if ctx else None,
        },
    }
    return response


def starting_model_status(
    eta_s: float | None, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """What a caller needs when the model was starting: when to ask again, said twice
    (seconds and a UTC time) and in words; None when the model was not starting."""
    if eta_s is None:
        return None
    retry_after = max(1, math.ceil(eta_s))
    retry_at = (now or datetime.now(UTC)) + timedelta(seconds=retry_after)
    minutes = max(1, round(retry_after / 60))
    return {
        "status": "starting",
        "retry_after_s": retry_after,
        "retry_at": retry_at.isoformat(timespec="seconds"),
        "message": (
            "the model was starting after scale-to-zero, so the text above was written "
            f"without it; ask again in about {minutes} minute{'s' if minutes > 1 else ''} "
            f"(after {retry_at:%H:%M} UTC) for a model-written one, or wait for it first "
            "with `stock-agent invoke --wait-for-model`"
        ),
    }


def _comparison_json(comparison: dict[str, Any] | None, *, link: Any) -> dict[str, Any] | None:
    if not comparison:
        return None
    body = dict(comparison)
    report = comparison.get("report")
    if report:
        body["report"] = report_json(ReportRef(**report), link=link)
    return body


def _profile(state: AgentState) -> UserProfile | None:
    raw = (state.get("user") or {}).get("profile")
    return UserProfile.from_json(raw) if raw is not None else None


def _user_json(state: AgentState) -> dict[str, Any]:
    """What the turn knew of its user: whether identified, and the profile when read."""
    user = state.get("user") or {}
    profile = _profile(state)
    body: dict[str, Any] = {"identified": bool(user.get("identified"))}
    if profile is not None:
        body.update(profile.to_json())
    elif user.get("unread"):
        body["unread"] = user["unread"]
    return body


def _turn_text(
    state: AgentState,
    per_ticker: list[tuple[str, dict[str, str]]],
    warnings: list[str],
    tickers: Sequence[TickerResult] = (),
) -> str:
    """The answer of a question from the session; or the three sections (plus the
    comparison and the answer, when the turn analysed tickers to answer a question).

    The user's preferences shape it (:mod:`.answering.personal`): brief replaces the
    three sections by a line of verdicts per ticker; a stated risk profile adds its note.
    """
    answer = state.get("answer")
    profile = _profile(state)
    note = _risk_note(state, profile, tickers)
    if answer and not per_ticker:
        extra = f"\n\nFOR YOU:\n{note}" if note else ""
        tail = "\n\nWARNINGS:\n" + "\n".join(f"- {w}" for w in warnings) if warnings else ""
        return f"ANSWER:\n{_RULE}\n{answer}{extra}{tail}\n"
    if profile is not None and profile.preference("answer_length") == "brief":
        lines = [personal.brief_section(t.snapshot, t.analysis, t.report) for t in tickers]
        text = f"SUMMARY (brief, as you asked):\n{_RULE}\n" + "\n".join(lines) + "\n"
        if warnings:
            text += "\n" + _lines("WARNINGS:", [f"- {w}" for w in warnings]) + "\n"
    else:
        text = render_text(per_ticker, warnings)
    comparison = state.get("comparison")
    if comparison:
        text += f"\nCOMPARISON:\n{_RULE}\n{comparison['narrative']}\n"
    if answer:
        text += f"\nANSWER:\n{_RULE}\n{answer}\n"
    if note:
        text += f"\nFOR YOU:\n{_RULE}\n{note}\n"
    return text


def _risk_note(
    state: AgentState, profile: UserProfile | None, tickers: Sequence[TickerResult]
) -> str | None:
    """The risk profile's note where risk matters: a report, advice, a risk question."""
    if profile is None:
        return None
    plan = state.get("plan") or {}
    risky = bool(tickers) or plan.get("intent") == "advice" or "risk" in plan.get("aspects", ())
    if not risky:
        return None
    risks = [(t.symbol, t.analysis.risk_level) for t in tickers]
    if not risks:
        records = session_records(state.get("session"), symbols=plan.get("subjects", ()))
        risks = [(s, r.analysis.risk_level) for s, r in records.items()]
    return personal.risk_note(profile, risks)


def error_body(err: AgentError) -> dict[str, Any]:
    """The failure contract's body."""
    return err.to_body()
