"""The deterministic graders: each a pure function of (expectation, observation, context).

They never read files or call anything: the runner puts the PDF text and the
session's earlier results into their arguments (the ground truth is computed,
not fetched: :mod:`eval.ground_truth`). Figures are checked with the
agent's own code (:func:`stock_agent.answering.number_check.check_narrative`,
:func:`stock_agent.formatting.key_figures`), so "this number is in the record
within its display rounding" has one definition.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from stock_agent import formatting
from stock_agent.answering.number_check import allowed_figures, check_narrative
from stock_agent.errors import ERROR_STATUS
from stock_agent.prompts import narrative_payload
from stock_agent.reports.pdf import DISCLAIMER

from ..cases import Expectation
from ..ground_truth import Truth, differences, table_differences, truth_for
from ..pdf import flat
from ..records import records_of
from ..targets import TRACE_MARKERS, Observation
from . import Grade

TICKERS = "ticker_accuracy"
INTENT = "intent_accuracy"
TRAJECTORY = "trajectory"
NUMERIC = "numeric_faithfulness"
GROUND_TRUTH = "ground_truth"
TEXT_PDF = "text_pdf_agreement"
DISCLAIMER_PRESENT = "disclaimer_present"
REFUSAL = "refusal_correctness"
ANSWER_FIGURE = "answer_cites_figure"
MODEL_CALLS = "model_calls_per_ticker"
LATENCY = "latency"

CRITERIA = (
    TICKERS,
    INTENT,
    TRAJECTORY,
    NUMERIC,
    GROUND_TRUTH,
    TEXT_PDF,
    DISCLAIMER_PRESENT,
    REFUSAL,
    ANSWER_FIGURE,
    MODEL_CALLS,
    LATENCY,
)


@dataclass(frozen=True)
class Budgets:
    """Per-turn limits the model-call and latency graders apply (from the thresholds file)."""

    model_calls_per_ticker: int = 2
    model_calls_per_lookup: int = 1
    model_calls_per_answer: int = 1
    latency_ms: float = 5_000.0


# ---------------------------------------------------------------------------
# what a turn shows
# ---------------------------------------------------------------------------


def _understood(obs: Observation) -> dict[str, Any]:
    """The ``understand_request`` stage event, or ``{}``."""
    return next((e for e in obs.stage_events if e.get("stage") == "understand_request"), {})


def observed_tickers(obs: Observation) -> list[str] | None:
    if obs.response is not None and isinstance(obs.response.get("tickers"), list):
        return [str(t) for t in obs.response["tickers"]]
    tickers = _understood(obs).get("tickers")
    return [str(t) for t in tickers] if isinstance(tickers, list) else None


def observed_intent(obs: Observation) -> str | None:
    if obs.response is not None and obs.response.get("intent") is not None:
        return str(obs.response["intent"])
    intent = _understood(obs).get("intent")
    return None if intent is None else str(intent)


def trajectory(events: Iterable[dict[str, Any]]) -> list[str]:
    """The stage names of the stage events, consecutive repeats (one per ticker) folded."""
    route: list[str] = []
    for event in events:
        if event.get("event") != "stage":
            continue
        stage = str(event.get("stage"))
        if not route or route[-1] != stage:
            route.append(stage)
    return route


def results_of(obs: Observation) -> list[dict[str, Any]]:
    if obs.response is None:
        return []
    results = obs.response.get("results")
    return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []


def answer_of(obs: Observation) -> str | None:
    answer = obs.response.get("answer") if obs.response else None
    return answer if isinstance(answer, str) else None


def allowed_figures_of(result: dict[str, Any]) -> frozenset[str]:
    """Every figure of the record (the track record's detail too: an answer about it
    quotes its buckets, and they are in the data)."""
    snapshot, analysis = records_of(result)
    payload = narrative_payload(
        snapshot=snapshot,
        analysis=analysis,
        key_figures=formatting.key_figures(snapshot, analysis),
        track_record_detail=True,
    )
    return allowed_figures(snapshot=snapshot, analysis=analysis, payload=payload)


# ---------------------------------------------------------------------------
# graders
# ---------------------------------------------------------------------------


def grade_tickers(expect: Expectation, obs: Observation) -> Grade:
    """The tickers understood, and which were analysed and which dropped, are the expected."""
    checks = [c for c in (expect.tickers, expect.results, expect.failed) if c is not None]
    if not checks:
        return Grade.not_applicable(TICKERS)
    problems: list[str] = []
    if expect.tickers is not None:
        seen = observed_tickers(obs)
        if seen != list(expect.tickers):
            problems.append(f"tickers {seen} != expected {list(expect.tickers)}")
    if expect.results is not None:
        analysed = [str(r.get("symbol")) for r in results_of(obs)]
        if obs.succeeded and analysed != list(expect.results):
            problems.append(f"results {analysed} != expected {list(expect.results)}")
    if expect.failed is not None and obs.response is not None:
        failed = [str(f.get("symbol")) for f in obs.response.get("failed") or []]
        if failed != list(expect.failed):
            problems.append(f"failed {failed} != expected {list(expect.failed)}")
    return Grade.failed(TICKERS, "; ".join(problems)) if problems else Grade.passed(TICKERS)


def grade_intent(expect: Expectation, obs: Observation) -> Grade:
    if expect.intent is None:
        return Grade.not_applicable(INTENT)
    seen = observed_intent(obs)
    if seen == expect.intent:
        return Grade.passed(INTENT)
    return Grade.failed(INTENT, f"intent {seen!r} != expected {expect.intent!r}")


def grade_trajectory(expect: Expectation, obs: Observation) -> Grade:
    """The stages the stream reported, in order, are the expected route through the graph."""
    if expect.route is None:
        return Grade.not_applicable(TRAJECTORY)
    route = trajectory(obs.events)
    if route == list(expect.route):
        return Grade.passed(TRAJECTORY)
    return Grade.failed(TRAJECTORY, f"route {route} != expected {list(expect.route)}")


def grade_numeric_faithfulness(
    obs: Observation, *, history: Sequence[dict[str, Any]] = ()
) -> Grade:
    """Every number in a narrative, answer or comparison traces to a record.

    A narrative is checked against its own ticker's record; an answer or a
    comparison against every record of the session so far (``history`` holds
    the results of the earlier turns).
    """
    results = results_of(obs)
    answer = answer_of(obs)
    comparison = obs.response.get("comparison") if obs.response else None
    comparison_text = comparison.get("narrative") if isinstance(comparison, dict) else None
    if not results and answer is None and not isinstance(comparison_text, str):
        return Grade.not_applicable(NUMERIC)
    problems: list[str] = []
    session_allowed: set[str] = set()
    for result in [*history, *results]:
        try:
            session_allowed |= allowed_figures_of(result)
        except (KeyError, TypeError, ValueError) as err:
            problems.append(f"{result.get('symbol')}: record unreadable ({err!r})")
    for result in results:
        text = (result.get("narrative") or {}).get("text")
        if not isinstance(text, str):
            problems.append(f"{result.get('symbol')}: no narrative text")
            continue
        try:
            allowed = allowed_figures_of(result)
        except (KeyError, TypeError, ValueError):
            continue
        why = check_narrative(text, allowed=allowed)
        if why:
            problems.append(f"{result.get('symbol')} narrative: {why}")
    for name, text in (("answer", answer), ("comparison", comparison_text)):
        if isinstance(text, str):
            why = check_narrative(text, allowed=session_allowed)
            if why:
                problems.append(f"{name}: {why}")
    return Grade.failed(NUMERIC, "; ".join(problems)) if problems else Grade.passed(NUMERIC)


def grade_ground_truth(obs: Observation) -> Grade:
    """Every reported figure is the data provider's own (see :mod:`eval.ground_truth`).

    ``n/a`` with the reason when no result's provider has a ground truth the
    evaluator can compute; the reason becomes the results file's note.
    """
    results = results_of(obs)
    if not results:
        return Grade.not_applicable(GROUND_TRUTH)
    problems: list[str] = []
    unchecked: list[str] = []
    truths: dict[str, Truth] = {}
    for result in results:
        symbol = str(result.get("symbol"))[:20]
        truth = truth_for(result)
        if truth.unchecked:
            unchecked.append(f"{symbol}: {truth.unchecked}")
            continue
        truths[symbol] = truth
        problems += [f"{symbol}: {why}" for why in differences(result, truth)]
    comparison = obs.response.get("comparison") if obs.response else None
    table = comparison.get("table") if isinstance(comparison, dict) else None
    if isinstance(table, dict):
        problems += table_differences(table, truths)
    if problems:
        return Grade.failed(GROUND_TRUTH, "; ".join(problems))
    if not truths:
        return Grade.not_applicable(GROUND_TRUTH, "; ".join(unchecked))
    return Grade.passed(GROUND_TRUTH, "; ".join(unchecked))


def grade_text_pdf(obs: Observation) -> Grade:
    """Text, record and PDF agree: each key figure reads the same in all three.

    For every result: the response's ``key_figures`` are the record's figures
    formatted by the agent's formatter; the data section prints each market
    and financial figure under its label; the stored PDF has the bytes the
    response describes (size and SHA-256), prints every figure and the
    narrative.
    """
    results = results_of(obs)
    if not results:
        return Grade.not_applicable(TEXT_PDF)
    problems: list[str] = []
    for result in results:
        symbol = str(result.get("symbol"))
        try:
            snapshot, analysis = records_of(result)
        except (KeyError, TypeError, ValueError) as err:
            problems.append(f"{symbol}: record unreadable ({err!r})")
            continue
        figures = formatting.key_figures(snapshot, analysis)
        shown = result.get("key_figures") or {}
        wrong = [label for label, value in figures if shown.get(label) != value]
        if wrong:
            problems.append(f"{symbol}: key_figures differ from the record for {wrong}")
        section = (result.get("sections") or {}).get("data_gathering", "")
        for _, rows in formatting.key_figure_groups(snapshot, analysis)[:2]:
            missing = [label for label, value in rows if f"- {label}: {value}" not in section]
            if missing:
                problems.append(f"{symbol}: data section does not print {missing} as recorded")
        pdf = obs.reports.get(symbol)
        if pdf is None:
            why = obs.report_errors.get(symbol, "not read")
            problems.append(f"{symbol}: PDF not available ({why})")
            continue
        data, text = pdf
        report = result.get("report") or {}
        if hashlib.sha256(data).hexdigest() != report.get("sha256"):
            problems.append(f"{symbol}: PDF bytes do not match the response's sha256")
        if len(data) != report.get("bytes"):
            problems.append(
                f"{symbol}: PDF has {len(data)} bytes, the response says {report.get('bytes')}"
            )
        # Every figure is printed as recorded (line breaks aside); the track record's
        # buckets as rows of its table.
        track = analysis.track_record
        buckets = formatting.track_record_bucket_labels(track) if track else frozenset()
        absent = [
            label
            for label, value in figures
            if label not in buckets and flat(value) not in flat(text)
        ]
        if track is not None:
            _, bucket_rows, _ = formatting.track_record_table(track)
            absent += [
                row[0]
                for row in bucket_rows
                if flat(" ".join(c for c in row if c)) not in flat(text)
            ]
        if absent:
            problems.append(f"{symbol}: PDF does not print {absent}")
        narrative = (result.get("narrative") or {}).get("text", "")
        if flat(narrative) not in flat(text):
            problems.append(f"{symbol}: PDF does not contain the response's narrative")
    return Grade.failed(TEXT_PDF, "; ".join(problems)) if problems else Grade.passed(TEXT_PDF)


def grade_disclaimer(obs: Observation) -> Grade:
    """Every stored PDF of the turn carries the full disclaimer."""
    names = [str(r.get("symbol")) for r in results_of(obs)]
    if obs.response and isinstance(obs.response.get("comparison"), dict):
        names.append("comparison")
    if not names:
        return Grade.not_applicable(DISCLAIMER_PRESENT)
    missing = [
        n for n in names if n not in obs.reports or flat(DISCLAIMER) not in flat(obs.reports[n][1])
    ]
    if missing:
        return Grade.failed(DISCLAIMER_PRESENT, f"no disclaimer in the PDF of {missing}")
    return Grade.passed(DISCLAIMER_PRESENT)


def grade_refusal(expect: Expectation, obs: Observation) -> Grade:
    """Refuse exactly when expected, with the expected code and status, and never leak a trace."""
    leaked = [m for m in TRACE_MARKERS if m in obs.raw_text]
    if leaked:
        return Grade.failed(REFUSAL, f"a stack trace reached the caller ({leaked[0]!r})")
    code = (obs.error or {}).get("code")
    if not expect.refusal:
        if obs.succeeded and obs.status == 200:
            return Grade.passed(REFUSAL)
        message = str((obs.error or {}).get("message", ""))[:160]
        return Grade.failed(REFUSAL, f"refused with {code!r} (status {obs.status}): {message}")
    if obs.succeeded:
        return Grade.failed(REFUSAL, f"answered, but expected a refusal {list(expect.error_codes)}")
    if code not in expect.error_codes:
        return Grade.failed(REFUSAL, f"code {code!r} not in {list(expect.error_codes)}")
    if not obs.streamed and obs.status != ERROR_STATUS.get(str(code), 500):
        return Grade.failed(
            REFUSAL, f"{code} came with status {obs.status}, not {ERROR_STATUS.get(str(code))}"
        )
    if not str((obs.error or {}).get("message", "")).strip():
        return Grade.failed(REFUSAL, f"{code} has no message for the caller")
    return Grade.passed(REFUSAL)


def grade_answer_figure(
    expect: Expectation, obs: Observation, *, history: Sequence[dict[str, Any]] = ()
) -> Grade:
    """A question about a figure is answered with that figure, as the record formats it."""
    if expect.answer_figure is None:
        return Grade.not_applicable(ANSWER_FIGURE)
    symbol, label = expect.answer_figure
    answer = answer_of(obs)
    if answer is None:
        return Grade.failed(ANSWER_FIGURE, "the response has no answer")
    record = next(
        (r for r in reversed([*history, *results_of(obs)]) if r.get("symbol") == symbol), None
    )
    if record is None:
        return Grade.failed(ANSWER_FIGURE, f"no record of {symbol} in the session")
    value = str((record.get("key_figures") or {}).get(label, ""))
    if not value or value == formatting.NA:
        return Grade.failed(ANSWER_FIGURE, f"{symbol} has no figure {label!r}")
    wanted = {formatting.normalize_number_token(t) for t in formatting.extract_number_tokens(value)}
    quoted = {
        formatting.normalize_number_token(t) for t in formatting.extract_number_tokens(answer)
    }
    if value in answer or (wanted and wanted <= quoted):
        return Grade.passed(ANSWER_FIGURE)
    return Grade.failed(ANSWER_FIGURE, f"the answer does not quote {label} = {value}")


def grade_model_calls(obs: Observation, *, budgets: Budgets) -> Grade:
    """Model calls stay within budget: per analysed ticker, per name lookup, per answer."""
    if obs.response is None:
        return Grade.not_applicable(MODEL_CALLS)
    calls = (obs.response.get("metrics") or {}).get("model_calls")
    if not isinstance(calls, int):
        return Grade.failed(MODEL_CALLS, "the response reports no metrics.model_calls")
    tickers = len(results_of(obs))
    limit = (
        budgets.model_calls_per_ticker * tickers
        + budgets.model_calls_per_lookup
        + (budgets.model_calls_per_answer if answer_of(obs) is not None else 0)
    )
    if calls <= limit:
        return Grade.passed(MODEL_CALLS, f"{calls} call(s) for {tickers} ticker(s)")
    return Grade.failed(MODEL_CALLS, f"{calls} model calls for {tickers} ticker(s); limit {limit}")


def grade_latency(obs: Observation, *, budgets: Budgets) -> Grade:
    if obs.latency_ms <= budgets.latency_ms:
        return Grade.passed(LATENCY, f"{obs.latency_ms:.0f} ms")
    return Grade.failed(LATENCY, f"{obs.latency_ms:.0f} ms > budget {budgets.latency_ms:.0f} ms")


def safely(criterion: str, grade: Callable[[], Grade]) -> Grade:
    """``grade()``, or a failed grade when the answer is not in a shape the grader can read.

    The graders read what the agent sent, and a broken or hostile agent sends
    anything (a result that is a list, a narrative that is a number): that is
    a failed grade with the reason, so the run goes on to its table.
    """
    try:
        return grade()
    except Exception as err:
        return Grade.failed(
            criterion, f"the answer could not be graded ({type(err).__name__}: {str(err)[:120]})"
        )


def grade_turn(
    expect: Expectation,
    obs: Observation,
    *,
    history: Sequence[dict[str, Any]] = (),
    budgets: Budgets = Budgets(),
) -> list[Grade]:
    """Every deterministic grader on one turn, in :data:`CRITERIA` order."""
    graders: dict[str, Callable[[], Grade]] = {
        TICKERS: lambda: grade_tickers(expect, obs),
        INTENT: lambda: grade_intent(expect, obs),
        TRAJECTORY: lambda: grade_trajectory(expect, obs),
        NUMERIC: lambda: grade_numeric_faithfulness(obs, history=history),
        GROUND_TRUTH: lambda: grade_ground_truth(obs),
        TEXT_PDF: lambda: grade_text_pdf(obs),
        DISCLAIMER_PRESENT: lambda: grade_disclaimer(obs),
        REFUSAL: lambda: grade_refusal(expect, obs),
        ANSWER_FIGURE: lambda: grade_answer_figure(expect, obs, history=history),
        MODEL_CALLS: lambda: grade_model_calls(obs, budgets=budgets),
        LATENCY: lambda: grade_latency(obs, budgets=budgets),
    }
    return [safely(criterion, graders[criterion]) for criterion in CRITERIA]
