"""Planted faults: an evaluation that cannot fail is worth nothing.

Each fault takes a real, clean turn of the agent (run through the same
target as the golden set), changes one thing the way a regression would, and
names the criterion that must catch it. :func:`run_sensitivity` grades the
clean turn and the faulted one and reports whether the criterion went from
pass to fail. ``make eval`` prints the table; a test requires every fault caught.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stock_agent.answering.number_check import check_narrative
from stock_agent.reports.pdf import DISCLAIMER

from .cases import Expectation, Turn
from .graders.deterministic import (
    DISCLAIMER_PRESENT,
    GROUND_TRUTH,
    NUMERIC,
    TEXT_PDF,
    TICKERS,
    TRAJECTORY,
    allowed_figures_of,
    grade_turn,
)
from .targets import Observation, Target, observe
from .turns import request_body, with_reports

PROMPT = "Analyze AAPL"
POISONED_NAME = "Poisoned Holdings"
EXPECT = Expectation(
    tickers=("AAPL",),
    intent="analyze",
    results=("AAPL",),
    route=(
        "understand_request",
        "data_gathering",
        "performance_analysis",
        "narrative",
        "report_generation",
        "remember",
        "respond",
    ),
)


def _response(obs: Observation) -> dict[str, Any]:
    assert obs.response is not None
    return obs.response


def swap_figure(obs: Observation) -> Observation:
    """The current price trades places with another price figure in the text and key figures.

    The partner is the first of the 52-week high, the 52-week low and the 50-day
    average that reads differently from the price, so the swap changes something
    whatever the day's data (a close at its 52-week high is an ordinary day).
    """
    obs = copy.deepcopy(obs)
    result = _response(obs)["results"][0]
    figures = result["key_figures"]
    price = figures["Current Price"]
    partner = next(
        label for label in ("52-Week High", "52-Week Low", "50-Day SMA") if figures[label] != price
    )
    other = figures[partner]
    figures["Current Price"], figures[partner] = other, price
    section = result["sections"]["data_gathering"]
    section = section.replace(f"- Current Price: {price}", "\0")
    section = section.replace(f"- {partner}: {other}", f"- {partner}: {price}")
    result["sections"]["data_gathering"] = section.replace("\0", f"- Current Price: {other}")
    return obs


def drop_disclaimer(obs: Observation) -> Observation:
    """The PDF is rendered without its disclaimer paragraph."""
    reports = {
        name: (data, " ".join(text.split()).replace(" ".join(DISCLAIMER.split()), ""))
        for name, (data, text) in obs.reports.items()
    }
    return dataclasses.replace(copy.deepcopy(obs), reports=reports)


def wrong_ticker(obs: Observation) -> Observation:
    """The request is understood as another company."""
    obs = copy.deepcopy(obs)
    response = _response(obs)
    response["tickers"] = ["APLE"]
    response["results"][0]["symbol"] = "APLE"
    return obs


def invent_number(obs: Observation) -> Observation:
    """The narrative quotes a growth figure that is in no record.

    The figure is the first of 37.2 %, 37.3 %, ... that the agent's own number
    check rejects for this record, so no day's data can contain it by chance.
    """
    obs = copy.deepcopy(obs)
    result = _response(obs)["results"][0]
    allowed = allowed_figures_of(result)
    for tenths in itertools.count(372):
        sentence = f" Analysts expect revenue to grow {tenths / 10:.1f}% next year."
        if check_narrative(sentence, allowed=allowed):
            break
    result["narrative"]["text"] += sentence
    return obs


def poison_record(obs: Observation) -> Observation:
    """A consistent record that is not the data's: another company name and price everywhere.

    What a planted market-data cache gives: the record, the key figures and the
    text agree with each other, so only a comparison with the data catches it.
    """
    obs = copy.deepcopy(obs)
    result = _response(obs)["results"][0]
    price = result["key_figures"]["Current Price"]
    poisoned = next(p for p in ("$4,242.42", "$4,343.43") if p != price)
    result["key_figures"]["Current Price"] = poisoned
    result["data"]["current_price"] = float(poisoned.strip("$").replace(",", ""))
    result["data"]["company_name"] = POISONED_NAME
    section = result["sections"]["data_gathering"]
    result["sections"]["data_gathering"] = section.replace(
        f"- Current Price: {price}", f"- Current Price: {poisoned}"
    )
    return obs


def wrong_route(obs: Observation) -> Observation:
    """The narrative stage is skipped (the stream shows the route actually taken)."""
    events = tuple(e for e in obs.events if e.get("stage") != "narrative")
    return dataclasses.replace(copy.deepcopy(obs), events=events)


@dataclass(frozen=True)
class Fault:
    name: str
    plant: Callable[[Observation], Observation]
    caught_by: str


FAULTS = (
    Fault("swapped figure (price <-> another price figure)", swap_figure, TEXT_PDF),
    Fault("dropped disclaimer", drop_disclaimer, DISCLAIMER_PRESENT),
    Fault("wrong ticker (APLE for AAPL)", wrong_ticker, TICKERS),
    Fault("invented number (a growth rate in no record)", invent_number, NUMERIC),
    Fault("wrong route (narrative stage skipped)", wrong_route, TRAJECTORY),
    Fault("poisoned data (Poisoned Holdings, a price not the data's)", poison_record, GROUND_TRUTH),
)


@dataclass(frozen=True)
class FaultRow:
    fault: str
    criterion: str
    clean: str
    faulted: str
    detail: str
    also_failed: tuple[str, ...]

    @property
    def caught(self) -> bool:
        return self.clean == "pass" and self.faulted == "fail"


def clean_turn(target: Target) -> Observation:
    session_id = f"eval-sensitivity-{uuid.uuid4().hex}"
    body = request_body(Turn(expect=EXPECT, prompt=PROMPT), session_id=session_id)
    return with_reports(
        observe(target.send(body, session_id=session_id)),
        s3_client=getattr(target, "s3_client", None),
        allow_local_files=target.local_files,
    )


def run_sensitivity(clean: Observation) -> list[FaultRow]:
    """Grade ``clean`` and each planted fault of it.

    A clean turn a fault cannot be planted in (the agent refused, or its answer
    lacks what the fault changes) gives a row that is not caught, so the gate
    fails, with the reason, instead of the run.
    """
    before = {g.criterion: g for g in grade_turn(EXPECT, clean)}
    rows: list[FaultRow] = []
    for fault in FAULTS:
        try:
            faulted = fault.plant(clean)
        except (AssertionError, LookupError, TypeError, ValueError, AttributeError) as err:
            why = f"the clean turn has no place for this fault ({type(err).__name__}: {err})"
            rows.append(
                FaultRow(fault.name, fault.caught_by, before[fault.caught_by].outcome, "n/a",
                         why[:160], ())
            )  # fmt: skip
            continue
        after = {g.criterion: g for g in grade_turn(EXPECT, faulted)}
        target = after[fault.caught_by]
        others = tuple(c for c, g in after.items() if g.outcome == "fail" and c != fault.caught_by)
        rows.append(
            FaultRow(
                fault=fault.name,
                criterion=fault.caught_by,
                clean=before[fault.caught_by].outcome,
                faulted=target.outcome,
                detail=target.detail[:160],
                also_failed=others,
            )
        )
    return rows
