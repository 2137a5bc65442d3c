"""Answers built from the records alone: what the plan asks, nothing else, every figure formatted.

This is the offline answer and the fallback when the model's answer fails
its check, so it answers the question itself rather than summarising:

- figures: each asked figure of each subject, with the ticker and the data's
  as-of date (``n/a`` with the reason where the record has none);
- a comparison (an operator and two tickers or more) leads with the winner
  and gives every ticker's value; equal displayed values are a tie;
- why: the scoring factors behind the verdict, each with its points;
- advice: the outlook with its scores, risk level and moving factors, and
  the statement that this is not investment advice (never a buy/sell call);
- a price target or forecast: one sentence that declines and says what the
  report offers instead.

Every number is a formatted record value or appears in the analysis'
rationale, so the answer passes the number check by construction (tested).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .. import formatting
from ..memory.session import SessionRecord
from ..understanding.plan import RequestPlan
from ..understanding.vocabulary import VERDICTS, words

NOT_ADVICE = (
    "This is not investment advice: it describes the data and the scoring rules, not what "
    "you should do with your money."
)
NO_CALL = "I can't tell you whether to buy, hold or sell; here is what the analysis says."
DECLINE = (
    "I can't forecast prices or give price targets; instead, the report gives {subject} "
    "52-week range, past returns, trend and outlook as of the data's date."
)
RISK_RANK = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}
OUTLOOK_RANK = {"negative": 0, "neutral": 1, "positive": 2}
_POINTS = re.compile(r"(?::\s*([+-]\d+)\.$)|(?:\(([+-]\d+)\)\.?$)")


@dataclass(frozen=True)
class Standing:
    """One ticker on one aspect: how it ranks (``None``: n/a) and what the answer says."""

    symbol: str
    key: tuple[float, ...] | None
    shown: str


def _as_of(records: Mapping[str, SessionRecord], symbols: Sequence[str]) -> str:
    days = sorted({records[s].snapshot.as_of.isoformat() for s in symbols})
    return "data as of " + " and ".join(days)


def _header(symbol: str, record: SessionRecord) -> str:
    """``AAPL (Apple Inc.), data as of 2026-11-30:`` above a ticker's lines."""
    snap = record.snapshot
    return f"{symbol} ({snap.company_name}), data as of {snap.as_of.isoformat()}:"


def _figure(record: SessionRecord, key: str) -> formatting.Figure | None:
    return formatting.figures_by_key(record.snapshot, record.analysis).get(key)


def _shown(figure: formatting.Figure) -> str:
    """A figure's value; n/a with the reason when the record says why."""
    missing = figure.source.missing if figure.source is not None else ""
    return (
        f"{figure.value} ({missing})"
        if figure.value == formatting.NA and missing
        else (figure.value)
    )


def figure_lines(plan: RequestPlan, records: Mapping[str, SessionRecord]) -> list[str]:
    """Each subject's asked figures: a header with ticker and as-of date, one line each."""
    blocks: list[str] = []
    for symbol in plan.subjects:
        record = records[symbol]
        rows = []
        for key in plan.figures:
            figure = _figure(record, key)
            if figure is not None:
                rows.append(f"- {figure.label}: {_shown(figure)}")
        if rows:
            blocks.append("\n".join([_header(symbol, record), *rows]))
    return blocks


# ---------------------------------------------------------------------------
# comparisons
# ---------------------------------------------------------------------------


def _number(value: str) -> float | None:
    tokens = formatting.extract_number_tokens(value)
    if value == formatting.NA or not tokens:
        return None
    canonical = formatting.normalize_number_token(tokens[0])
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}.get(canonical[-1:], 1.0)
    return float(canonical.rstrip("KMBT")) * scale


def standing(record: SessionRecord, symbol: str, aspect: str) -> Standing:
    """Where ``symbol`` stands on ``aspect``: a figure's displayed value, or a verdict."""
    a = record.analysis
    if aspect == "risk":
        return Standing(symbol, (RISK_RANK[a.risk_level],), a.risk_level)
    if aspect == "outlook":
        scores = a.technical.score + a.fundamental.score
        shown = (
            f"{a.outlook} (technical score {formatting.fmt_score(a.technical.score)}, "
            f"fundamental score {formatting.fmt_score(a.fundamental.score)})"
        )
        return Standing(symbol, (OUTLOOK_RANK[a.outlook], scores), shown)
    if aspect in ("technical", "fundamental"):
        score = a.technical.score if aspect == "technical" else a.fundamental.score
        return Standing(symbol, (score,), formatting.fmt_score(score))
    figure = _figure(record, aspect)
    if figure is None:
        return Standing(symbol, None, formatting.NA)
    number = _number(figure.value)
    return Standing(symbol, None if number is None else (number,), figure.value)


def aspect_name(aspect: str, records: Mapping[str, SessionRecord]) -> str:
    """How a comparison sentence names an aspect ("risk level", "P/E Ratio")."""
    if aspect == "risk":
        return "risk level"
    if aspect == "outlook":
        return "outlook (then technical + fundamental score)"
    if aspect in ("technical", "fundamental"):
        return f"{aspect} score"
    record = next(iter(records.values()))
    figure = _figure(record, aspect)
    return figure.label if figure is not None else aspect


def comparison_line(plan: RequestPlan, aspect: str, records: Mapping[str, SessionRecord]) -> str:
    """One sentence: the winner first, then every ticker's value; a tie said as one."""
    standings = [standing(records[s], s, aspect) for s in plan.subjects]
    name = aspect_name(aspect, records)
    ranked = [s for s in standings if s.key is not None]
    values = ", ".join(f"{s.symbol} {s.shown}" for s in standings)
    when = _as_of(records, plan.subjects)
    if not ranked:
        return f"{name} is n/a for {', '.join(plan.subjects)}, so they cannot be ranked ({when})."
    pick = max if plan.operator != "lowest" else min
    best = pick(s.key for s in ranked if s.key is not None)
    leaders = [s for s in ranked if s.key == best]
    if len(leaders) > 1:
        tied = " and ".join(s.symbol for s in leaders)
        return f"{tied} are tied on {name}: {values} ({when})."
    word = _comparative(aspect, plan.operator, len(plan.subjects))
    return f"{leaders[0].symbol} has the {word} {name}: {values} ({when})."


def _comparative(aspect: str, operator: str | None, count: int) -> str:
    if aspect == "outlook":
        return (
            ("better" if count == 2 else "best")
            if operator != "lowest"
            else ("weaker" if count == 2 else "weakest")
        )
    if operator == "lowest":
        return "lower" if count == 2 else "lowest"
    return "higher" if count == 2 else "highest"


# ---------------------------------------------------------------------------
# why, advice, declines
# ---------------------------------------------------------------------------


def verdict_lines(record: SessionRecord, verdict: str, *, why: bool) -> list[str]:
    """A verdict's head line and, for a why, every scoring factor with its points."""
    a = record.analysis
    tech, fund = a.technical, a.fundamental
    if verdict == "technical":
        head = (
            f"Technical score {formatting.fmt_score(tech.score)}: {tech.trend}, "
            f"{tech.momentum} momentum, {tech.volatility_level} volatility."
        )
        return [head, *(f"- {r}" for r in tech.rationale)] if why else [head]
    if verdict == "fundamental":
        head = (
            f"Fundamental score {formatting.fmt_score(fund.score)}: valuation {fund.valuation}, "
            f"profitability {fund.profitability}, income {fund.income}."
        )
        return [head, *(f"- {r}" for r in fund.rationale)] if why else [head]
    if verdict == "risk":  # its factors end in the points and the level: shown either way
        return [f"Risk level {a.risk_level}.", *(f"- {r}" for r in a.risk_factors)]
    head = f"Overall outlook: {a.outlook}."
    if not why:
        return [head]
    return [
        head,
        f"- Technical score {formatting.fmt_score(tech.score)} ({tech.trend}).",
        f"- Fundamental score {formatting.fmt_score(fund.score)} (valuation {fund.valuation}).",
        f"- Risk level {a.risk_level}.",
        "- The outlook weighs both scores together with the risk level (see the report's "
        "Methodology).",
    ]


def moving_factors(record: SessionRecord) -> list[str]:
    """The rationale lines and risk factors whose points are not zero."""
    a = record.analysis
    lines = [*a.technical.rationale, *a.fundamental.rationale, *a.risk_factors]
    moving = []
    for line in lines:
        match = _POINTS.search(line.strip())
        if match is not None and int(match.group(1) or match.group(2)) != 0:
            moving.append(line)
    return moving


def _explained_verdicts(plan: RequestPlan, record: SessionRecord) -> list[str]:
    """The verdicts a why is about: those named, else those whose rules use a named figure."""
    if plan.verdicts:
        return list(plan.verdicts)
    a = record.analysis
    rules = {
        "technical": a.technical.rationale,
        "fundamental": a.fundamental.rationale,
        "risk": a.risk_factors,
    }
    found = []
    for key in plan.figures:
        head = " ".join(words(key)[:1])
        found += [v for v, lines in rules.items() if any(head in line.lower() for line in lines)]
    return list(dict.fromkeys(found)) or ["outlook"]


def why_blocks(plan: RequestPlan, records: Mapping[str, SessionRecord]) -> list[str]:
    blocks = []
    for symbol in plan.subjects:
        record = records[symbol]
        lines = [_header(symbol, record)]
        for verdict in _explained_verdicts(plan, record):
            lines += verdict_lines(record, verdict, why=True)
        blocks.append("\n".join(lines))
    return blocks


def advice_blocks(plan: RequestPlan, records: Mapping[str, SessionRecord]) -> list[str]:
    blocks = [NO_CALL]
    for symbol in plan.subjects:
        record = records[symbol]
        a = record.analysis
        lines = [
            f"{symbol}: outlook {a.outlook} (technical score "
            f"{formatting.fmt_score(a.technical.score)}, fundamental score "
            f"{formatting.fmt_score(a.fundamental.score)}, risk level {a.risk_level}), "
            f"{_as_of(records, [symbol])}.",
            *(f"- {line}" for line in moving_factors(record)),
        ]
        blocks.append("\n".join(lines))
    blocks.append(NOT_ADVICE)
    return blocks


def decline(plan: RequestPlan) -> str:
    subject = " and ".join(f"{s}'s" for s in plan.subjects) if plan.subjects else "a stock's"
    return DECLINE.format(subject=subject)


def summary_lines(records: Mapping[str, SessionRecord]) -> list[str]:
    """What is known when the question named nothing the rules could read."""
    blocks = []
    for symbol, record in records.items():
        figures = dict(formatting.key_figures(record.snapshot, record.analysis))
        a = record.analysis
        blocks.append(
            f"{symbol} ({record.snapshot.company_name}), {_as_of(records, [symbol])}: outlook "
            f"{a.outlook}, risk level {a.risk_level}, current price {figures['Current Price']}."
        )
    return blocks


def deterministic_answer(plan: RequestPlan, records: Mapping[str, SessionRecord]) -> str:
    """The answer of ``plan`` from ``records`` (one per subject), in the module's order."""
    if plan.intent == "declined":
        return decline(plan)
    if plan.intent == "advice":
        return "\n\n".join(advice_blocks(plan, records))
    parts: list[str] = []
    if plan.operator is not None and len(plan.subjects) > 1:
        # each comparison sentence gives every ticker's value and the date already
        parts += [comparison_line(plan, aspect, records) for aspect in plan.aspects]
    else:
        parts += figure_lines(plan, records)
    verdicts = [v for v in plan.verdicts if v in VERDICTS]
    if plan.why:
        parts += why_blocks(plan, records)
    elif verdicts and plan.operator is None:
        for symbol in plan.subjects:
            lines = [_header(symbol, records[symbol])]
            for verdict in verdicts:
                lines += verdict_lines(records[symbol], verdict, why=False)
            parts.append("\n".join(lines))
    if not parts:
        parts = summary_lines({s: records[s] for s in plan.subjects})
    return "\n\n".join(parts)
