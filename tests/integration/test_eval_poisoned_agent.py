"""``eval --url`` against an agent whose every figure is invented fails the gate.

The agent is the real app served over HTTP on loopback; only its market data
is poisoned, the way a planted cache poisons it: every ticker becomes
"Poisoned Holdings" at $4,242.42, and the records, key figures, text and PDFs
agree with each other. Only a comparison with the data can catch it: the
evaluation's ground truth (the simulated provider's own figures).
"""

from __future__ import annotations

import dataclasses
import io
from datetime import date
from pathlib import Path

import pytest
from stock_agent.agent import StockAgent
from stock_agent.context import Dependencies
from stock_agent.market_data import SimulatedProvider
from stock_agent.records import PricePoint, StockSnapshot
from stock_agent.server.entrypoint import create_app
from stock_agent.settings import AgentSettings

from eval.cli import main as eval_main
from tests.integration.conftest import serve_app_in_thread

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("restore_agent_log_levels")]

POISONED_PRICE = 4242.42


class PoisonedProvider:
    """The simulated snapshot renamed and rescaled to close at $4,242.42; says it is simulated."""

    name = SimulatedProvider.name

    def __init__(self) -> None:
        self._real = SimulatedProvider()

    def snapshot(self, symbol: str, *, as_of: date) -> StockSnapshot:
        real = self._real.snapshot(symbol, as_of=as_of)
        scale = POISONED_PRICE / real.current_price
        prices = tuple(
            PricePoint(day=p.day, close=round(p.close * scale, 4), volume=p.volume)
            for p in real.prices
        )
        return dataclasses.replace(
            real,
            company_name="Poisoned Holdings",
            prices=prices,
            current_price=prices[-1].close,
            week52_high=max(p.close for p in prices),
            week52_low=min(p.close for p in prices),
            market_cap=real.market_cap * scale,
        )


def test_the_gate_fails_an_agent_whose_figures_are_not_the_datas(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    ctx = AgentSettings(reports_dir=str(reports))
    agent = StockAgent(
        ctx=ctx, dependencies=Dependencies.from_settings(ctx, provider=PoisonedProvider())
    )
    output = tmp_path / "RESULTS.md"
    out = io.StringIO()
    with serve_app_in_thread(create_app(ctx=ctx, agent=agent), reports_dir=reports) as server:
        code = eval_main(
            ["--url", server.url, "--category", "single_ticker", "--output", str(output)],
            out=out,
        )
    text = output.read_text()
    assert code == 1, text
    assert "gate: **FAIL**" in text
    [row] = [line for line in text.splitlines() if line.startswith("| ground_truth |")]
    assert "| 0 / " in row and row.rstrip().endswith("| FAIL |  |"), row
    assert "company 'Poisoned Holdings', provider" in text
    assert "Current Price '$4,242.42', provider" in text
    # The figures agree with each other: the self-consistency graders pass.
    for criterion in ("numeric_faithfulness", "text_pdf_agreement"):
        [line] = [x for x in text.splitlines() if x.startswith(f"| {criterion} |")]
        assert "| PASS |" in line, line
