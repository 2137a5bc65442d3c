"""The real agent, built the ways the tests need it: one place instead of one per file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stock_agent.agent import StockAgent
from stock_agent.context import Dependencies
from stock_agent.memory.checkpoints import GuardedSaver
from stock_agent.models.types import ModelClient
from stock_agent.reports.storage import ReportStore
from stock_agent.settings import AgentSettings


def agent_on(
    settings: AgentSettings,
    *,
    checkpointer: GuardedSaver | None = None,
    model: ModelClient | None = None,
    store: ReportStore | None = None,
) -> StockAgent:
    """The agent on ``settings``; a ``model`` or ``store`` given replaces the one the
    settings would build (the other clients are still built from the settings)."""
    dependencies = None
    if model is not None or store is not None:
        dependencies = Dependencies.from_settings(settings, model=model, store=store)
    return StockAgent(ctx=settings, dependencies=dependencies, checkpointer=checkpointer)


def offline_agent(
    reports_dir: Path, *, checkpointer: GuardedSaver | None = None, **settings: Any
) -> StockAgent:
    """Offline model and simulated data (the defaults), reports under ``reports_dir``; any
    other setting given is validated as if it came from the environment."""
    values = AgentSettings.from_env({}, reports_dir=str(reports_dir), **settings)
    return agent_on(values, checkpointer=checkpointer)
