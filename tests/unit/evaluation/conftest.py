"""Fixtures of the evaluation tests: the real agent app in-process, shared per session.

``inprocess_target`` is :class:`eval.targets.InProcessTarget` (the app
``stock-agent serve`` runs, offline model, simulated data, PDFs in a temporary
folder). ``observe_prompt("Analyze AAPL")`` sends one streamed prompt through it
and returns the observation with its PDFs read back, as the runner grades it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from eval.cases import Expectation, Turn
from eval.targets import InProcessTarget, Observation, observe
from eval.turns import request_body, with_reports


@pytest.fixture(scope="session")
def inprocess_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessTarget]:
    target = InProcessTarget(reports_dir=tmp_path_factory.mktemp("eval-reports"))
    yield target
    target.close()


@pytest.fixture(scope="session")
def observe_prompt(inprocess_target: InProcessTarget) -> Callable[[str], Observation]:
    cache: dict[str, Observation] = {}

    def run(prompt: str) -> Observation:
        if prompt not in cache:
            session_id = f"eval-test-{uuid.uuid4().hex}"
            body = request_body(Turn(expect=Expectation(), prompt=prompt), session_id=session_id)
            cache[prompt] = with_reports(
                observe(inprocess_target.send(body, session_id=session_id)),
                allow_local_files=True,
            )
        return cache[prompt]

    return run
