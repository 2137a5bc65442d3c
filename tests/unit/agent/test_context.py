"""The run's context: the clients built from the settings (or given), and how each kind of
model call is asked."""

from __future__ import annotations

from pathlib import Path

from stock_agent.context import CallProfiles, Dependencies, RunContext
from stock_agent.market_data import get_provider, known_symbols
from stock_agent.models.types import OfflineModelClient
from stock_agent.prompts import (
    ANSWER_SYSTEM_PROMPT,
    COMPARISON_SYSTEM_PROMPT,
    NARRATIVE_RETRY_PROMPT,
    NARRATIVE_SYSTEM_PROMPT,
    PLAN_SYSTEM_PROMPT,
    plan_system_prompt,
)
from stock_agent.reports import storage
from stock_agent.settings import AgentSettings
from stock_agent.understanding.names import name_lookup_for


def _settings(tmp_path: Path, **changes: object) -> AgentSettings:
    return AgentSettings(reports_dir=str(tmp_path / "reports"), **changes)  # type: ignore[arg-type]


def test_every_client_is_built_from_the_settings(tmp_path: Path) -> None:
    deps = Dependencies.from_settings(_settings(tmp_path))
    assert deps.model.name == "offline" and not deps.model_configured
    assert deps.provider.name == "simulated"
    assert isinstance(deps.store, storage.LocalReportStore)
    assert deps.store.root == tmp_path / "reports"
    assert [m.symbol for m in deps.names.resolve("how is apple doing")] == ["AAPL"]
    assert deps.model_symbols == known_symbols()  # the simulated universe can be listed


def test_a_client_given_is_used_instead_of_one_built(tmp_path: Path) -> None:
    model = OfflineModelClient()
    provider = get_provider("simulated")
    store = storage.LocalReportStore(root=tmp_path / "elsewhere")
    names = name_lookup_for("simulated", universe_names={"KO": ("Coca-Cola",)})
    deps = Dependencies.from_settings(
        _settings(tmp_path), model=model, provider=provider, store=store, names=names
    )
    assert deps.model is model and deps.provider is provider
    assert deps.store is store and deps.names is names


def test_a_real_provider_cannot_list_its_symbols(tmp_path: Path) -> None:
    """Only the simulated universe bounds a model-proposed ticker; a real one is open."""
    deps = Dependencies.from_settings(
        _settings(tmp_path, data_provider="yfinance"), provider=get_provider("simulated")
    )
    assert deps.model_symbols == frozenset()


def test_every_written_text_is_asked_with_the_narrative_effort_and_budget() -> None:
    settings = AgentSettings(
        model_max_tokens=777, reasoning_effort_narrative="high", reasoning_effort_lookup="low"
    )
    profiles = CallProfiles.from_settings(settings)
    written = {
        "narrative": (profiles.narrative, NARRATIVE_SYSTEM_PROMPT),
        "comparison": (profiles.comparison, COMPARISON_SYSTEM_PROMPT),
        "answer": (profiles.answer, ANSWER_SYSTEM_PROMPT),
    }
    for purpose, (profile, system_prompt) in written.items():
        assert profile.purpose == purpose
        assert profile.system_prompt == system_prompt
        assert (profile.max_tokens, profile.reasoning_effort) == (777, "high")
        assert profile.model is None  # every call asks for the client's own model
    # A narrative the number check rejects is asked for once more, with the reason:
    # at most two model calls per ticker.
    assert profiles.narrative.max_attempts == 2
    assert profiles.narrative.retry_prompt == NARRATIVE_RETRY_PROMPT
    assert profiles.comparison.max_attempts == profiles.answer.max_attempts == 1


def test_the_request_plan_is_asked_briefly_and_never_waits_for_a_starting_model() -> None:
    profile = CallProfiles.from_settings(
        AgentSettings(reasoning_effort_lookup="low", reasoning_effort_narrative="high"),
        known_symbols=frozenset({"KO", "AAPL"}),
    ).request_plan
    assert profile.purpose == "request_plan"
    assert profile.reasoning_effort == "low"
    assert profile.max_tokens == 256  # one short JSON object
    assert profile.max_cold_wait_s == 0.0  # a starting model is a 503 with retry_after
    assert profile.system_prompt == plan_system_prompt({"KO", "AAPL"})
    assert profile.system_prompt.endswith("Only these symbols are available: AAPL, KO.")
    bare = CallProfiles.from_settings(AgentSettings()).request_plan
    assert bare.system_prompt == PLAN_SYSTEM_PROMPT


def test_the_run_context_lists_the_providers_symbols_to_the_plan(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    deps = Dependencies.from_settings(settings)
    run = RunContext.build(settings, deps)
    assert run.settings is settings and run.deps is deps
    assert run.profiles == CallProfiles.from_settings(settings, known_symbols=known_symbols())
