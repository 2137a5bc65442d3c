"""``--model-url``: the in-process agent with its model behind an OpenAI-compatible server.

FakeVLLM (vLLM's wire format on loopback) stands in for gpt-oss-20b. One
scripted narrative quotes an invented figure: the agent's number check must
reject it and regenerate, and the harness must see the extra model call and
still a faithful narrative in the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eval.cases import load_golden_set
from eval.runner import run_golden_set
from eval.targets import InProcessTarget
from eval.thresholds import load_thresholds
from tests.support.fake_vllm import FakeVLLM

pytestmark = pytest.mark.slow

FAITHFUL = "The shares trade sideways and the valuation looks expensive. Not investment advice."


def test_golden_cases_through_a_model_server(tmp_path: Path) -> None:
    with FakeVLLM.start() as fake:
        answers = iter(["Revenue will grow 37.2% next year.", FAITHFUL])

        def narrative(request: dict[str, Any]) -> str:
            return next(answers, FAITHFUL)

        fake.default_response = narrative
        target = InProcessTarget(reports_dir=tmp_path, model_url=fake.url, model_name="model")
        try:
            result = run_golden_set(
                load_golden_set(),
                target,
                load_thresholds(),
                offline=False,
                case_filter=lambda c: c.id in {"single-01-sim-stock", "several-01"},
            )
        finally:
            target.close()
    assert target.model.startswith("openai:model at http://127.0.0.1:")
    assert result.gate_passed, result.failures()
    first, second = (o.observation.response for o in result.outcomes)
    assert first is not None and second is not None
    [sim] = first["results"]
    assert sim["narrative"]["source"] == "model" and "37.2" not in sim["narrative"]["text"]
    assert first["metrics"]["model_calls"] == 2  # rejected once for the invented figure
    assert second["metrics"]["model_calls"] == 2  # two tickers, one call each
    grades = {g.criterion: g for g in result.outcomes[0].grades}
    assert grades["model_calls_per_ticker"].outcome == "pass"
    assert grades["numeric_faithfulness"].outcome == "pass"
