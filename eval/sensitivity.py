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
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stock_agent.reports.pdf import DISCLAIMER

from .cases import Expectation, Turn
from .graders.deterministic import (
    DISCLAIMER_PRESENT,
    NUMERIC,
    TEXT_PDF,
    TICKERS,
    TRAJECTORY,
    grade_turn,
)
from .targets import Observation, Target, observe
from .turns import request_body, with_reports

PROMPT = "Analyze AAPL"
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
    """The current price and the 52-week high trade places in the text and key figures."""
    obs = copy.deepcopy(obs)
    result = _response(obs)["results"][0]
    figures = result["key_figures"]
    price, high = figures["Current Price"], figures["52-Week High"]
    figures["Current Price"], figures["52-Week High"] = high, price
    section = result["sections"]["data_gathering"]
    section = section.replace(f"- Current Price: {price}", "\0")
    section = section.replace(f"- 52-Week High: {high}", f"- 52-Week High: {price}")
    result["sections"]["data_gathering"] = section.replace("\0", f"- Current Price: {high}")
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
    """The narrative quotes a figure that is in no record."""
    obs = copy.deepcopy(obs)
    narrative = _response(obs)["results"][0]["narrative"]
    narrative["text"] += " Analysts expect revenue to grow 37.2% next year."
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
    Fault("swapped figure (price <-> 52-week high)", swap_figure, TEXT_PDF),
    Fault("dropped disclaimer", drop_disclaimer, DISCLAIMER_PRESENT),
    Fault("wrong ticker (APLE for AAPL)", wrong_ticker, TICKERS),
    Fault("invented number (37.2% growth)", invent_number, NUMERIC),
    Fault("wrong route (narrative stage skipped)", wrong_route, TRAJECTORY),
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
    return with_reports(observe(target.send(body, session_id=session_id)))


def run_sensitivity(clean: Observation) -> list[FaultRow]:
    """Grade ``clean`` and each planted fault of it."""
    before = {g.criterion: g for g in grade_turn(EXPECT, clean)}
    rows: list[FaultRow] = []
    for fault in FAULTS:
        after = {g.criterion: g for g in grade_turn(EXPECT, fault.plant(clean))}
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
