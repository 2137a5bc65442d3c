"""What the model wrote first, read from the run records beside the reports.

The agent checks every narrative and asks again when one fails, so the text
that reaches the user is faithful whichever model wrote it. Comparing two
models therefore looks one step earlier, at each ticker's **first** model
answer as the run record keeps it (``stock_agent.customize.run_records``,
stored next to the PDF under the same key with ``.json``):

- ``first_answer_faithful``: the agent's number check passes that answer
  (checked again here with the record's allowed figures, not taken from the
  record's flag), and it was not cut off at the token limit;
- the reward (:func:`stock_agent.customize.reward.score`) of that answer
  against the record's ``record`` object: the same call the GRPO trainer
  makes, so what training optimises is what the comparison measures. Where
  no model was asked (the offline model) the delivered narrative is scored.

A record that cannot be read or parsed fails the criterion with the reason,
and its narrative has no reward: the comparison does not guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stock_agent.answering.number_check import check_narrative, payload_figures
from stock_agent.customize.reward import RewardInputError, score
from stock_agent.customize.run_records import RunRecordError, parse_run_record

from .graders import Grade
from .graders.deterministic import results_of
from .targets import Observation, read_report

FIRST_ANSWER = "first_answer_faithful"


@dataclass(frozen=True)
class TurnNarratives:
    """One turn's narratives: the first-answer grade and each scored narrative's reward."""

    grade: Grade
    rewards: tuple[float, ...] = ()


def run_record_uri(report: Any) -> str:
    """Where the run record of a response's ``report`` is: its ``uri`` with ``.json``."""
    uri = report.get("uri") if isinstance(report, dict) else None
    if not isinstance(uri, str) or not uri.endswith(".pdf"):
        raise ValueError(f"report uri {uri!r} does not name a .pdf")
    return uri.removesuffix(".pdf") + ".json"


def read_run_record(
    result: dict[str, Any], *, s3_client: Any = None, allow_local_files: bool = False
) -> dict[str, Any]:
    """The validated run record of one result; ``OSError``/``ValueError`` say why not.

    ``allow_local_files``: the agent runs on this machine (see :func:`.targets.read_report`).
    """
    data = read_report(
        {"uri": run_record_uri(result.get("report"))},
        s3_client=s3_client,
        allow_local_files=allow_local_files,
    )
    record = parse_run_record(data)
    if record["symbol"] != result.get("symbol"):
        raise RunRecordError(f"symbol {record['symbol']!r} != result {result.get('symbol')!r}")
    return record


def _first_answer(record: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(text, why it fails)`` of the first model answer; text ``None`` when none was asked."""
    answers: Sequence[dict[str, Any]] = record["answers"]
    calls = record["narrative"].get("model_calls", 0)
    if not answers:
        if isinstance(calls, int) and calls > 0:
            return None, f"the model was asked {calls} time(s) and gave no answer"
        return None, None
    first = answers[0]
    inner = record["record"]
    allowed = frozenset(inner["allowed_figures"]) | payload_figures(inner["narrative_input"])
    if first.get("finish_reason") == "length":
        return first["content"], "cut off at the token limit (finish_reason=length)"
    return first["content"], check_narrative(first["content"], allowed=allowed)


def measure_turn(
    obs: Observation, *, s3_client: Any = None, allow_local_files: bool = False
) -> TurnNarratives:
    """The first-answer grade (``n/a`` when no narrative asked the model) and the rewards."""
    problems: list[str] = []
    rewards: list[float] = []
    asked = False
    for result in results_of(obs):
        symbol = result.get("symbol")
        try:
            record = read_run_record(
                result, s3_client=s3_client, allow_local_files=allow_local_files
            )
        except (OSError, ValueError) as err:  # RunRecordError is a ValueError
            problems.append(f"{symbol}: run record not readable ({str(err)[:160]})")
            continue
        text, why = _first_answer(record)
        if text is not None or why is not None:
            asked = True
        if why is not None:
            problems.append(f"{symbol}: {why}")
        scored = text if text is not None else record["narrative"]["text"]
        if text is None and why is not None:
            continue  # the model failed to answer: nothing it wrote to score
        try:
            rewards.append(score(scored, record["record"]).total)
        except RewardInputError as err:
            problems.append(f"{symbol}: reward not computable ({err})")
    if problems:
        return TurnNarratives(Grade.failed(FIRST_ANSWER, "; ".join(problems)), tuple(rewards))
    if not asked:
        return TurnNarratives(Grade.not_applicable(FIRST_ANSWER), tuple(rewards))
    return TurnNarratives(Grade.passed(FIRST_ANSWER), tuple(rewards))
