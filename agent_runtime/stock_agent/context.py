"""The clients a run uses, built from settings (or injected by tests), and the run's context.

LangGraph hands every node ``runtime.context``; here that is a
:class:`RunContext`: the settings, the clients built from them and the call
profiles (how each kind of model call is asked, also built from them). Nodes
never build a client or a profile themselves, so a test can swap any of them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import formatting
from .analysis import analyze, track_record_for
from .market_data import (
    SIMULATED_UNIVERSE,
    MarketDataProvider,
    SimulatedProvider,
    get_provider,
    known_symbols,
)
from .market_data.common_names import COMMON_NAMES
from .memory.user_profile import (
    InMemoryProfiles,
    ProfileLimits,
    UserProfileStore,
    build_profile_store,
)
from .models.client import build_model_client
from .models.types import CallProfile, ModelClient
from .prompts import (
    ANSWER_SYSTEM_PROMPT,
    COMPARISON_SYSTEM_PROMPT,
    NARRATIVE_RETRY_PROMPT,
    NARRATIVE_SYSTEM_PROMPT,
    plan_system_prompt,
)
from .reports import storage
from .settings import AgentSettings
from .understanding.names import NameLookup, name_lookup_for


def _universe_names() -> dict[str, tuple[str, ...]]:
    """Each simulated company's registered name, then the names people call it by."""
    return {
        symbol: (profile.name, *COMMON_NAMES.get(symbol, ()))
        for symbol, profile in SIMULATED_UNIVERSE.items()
    }


#: The simulated ticker whose report stands for "every figure a report carries" (it has
#: peers, a benchmark and statements, so no group is missing).
REFERENCE_SYMBOL = "AAPL"


@functools.cache
def reference_figure_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The figure label groups of a complete report, computed once per process.

    A first turn has no records yet, but "is Nvidia oversold?" must already
    read "oversold" as a figure: the vocabulary starts from the labels of a
    real report (the simulated reference ticker, analysed like any other) and
    adds those of the session's own records.
    """
    provider = SimulatedProvider()
    snapshot = provider.snapshot(REFERENCE_SYMBOL, as_of=datetime.now(UTC).date())
    record = track_record_for(provider, REFERENCE_SYMBOL, as_of=snapshot.as_of)
    analysis = dataclasses.replace(analyze(snapshot), track_record=record)
    groups = formatting.figure_label_groups(snapshot, analysis)
    return tuple((title, tuple(labels)) for title, labels in groups)


def profile_limits(ctx: AgentSettings) -> ProfileLimits:
    """The bounds of a user's profile, from the settings."""
    return ProfileLimits(
        max_tickers=ctx.user_watchlist_max_tickers, max_preferences=ctx.user_max_preferences
    )


def default_profiles() -> UserProfileStore:
    """Profiles in this process, bounded by the default settings (a test's agent)."""
    defaults = AgentSettings()
    return InMemoryProfiles(limits=profile_limits(defaults), max_users=defaults.memory_max_users)


@dataclass(frozen=True)
class Dependencies:
    """What the nodes call out to; built from settings, or injected by tests."""

    model: ModelClient
    provider: MarketDataProvider
    store: storage.ReportStore
    # Company names -> tickers without a model (the provider's names or its search).
    names: NameLookup = field(default_factory=lambda: name_lookup_for(
        "simulated", universe_names=_universe_names()))  # fmt: skip
    # Symbols the parser treats as tickers whatever their case ("msft").
    parser_symbols: frozenset[str] = field(default_factory=known_symbols)
    # Symbols a model-proposed ticker must be one of; empty = the shape check only.
    model_symbols: frozenset[str] = frozenset()
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # The users' long-term memory (watchlists, preferences), beside the session store.
    profiles: UserProfileStore = field(default_factory=lambda: default_profiles())

    @classmethod
    def from_settings(
        cls,
        ctx: AgentSettings,
        *,
        model: ModelClient | None = None,
        provider: MarketDataProvider | None = None,
        store: storage.ReportStore | None = None,
        names: NameLookup | None = None,
        profiles: UserProfileStore | None = None,
    ) -> Dependencies:
        """Build every dependency ``ctx`` names; any of them may be given instead."""
        return cls(
            model=model or build_model_client(ctx),
            provider=provider
            or get_provider(
                ctx.data_provider,
                cache_dir=ctx.market_data_cache_dir,
                cache_ttl_seconds=ctx.market_data_cache_ttl_seconds,
            ),
            store=store or storage.build_report_store(ctx),
            names=names or name_lookup_for(ctx.data_provider, universe_names=_universe_names()),
            # The simulated provider can enumerate its symbols; a real one cannot.
            model_symbols=known_symbols() if ctx.data_provider == "simulated" else frozenset(),
            profiles=profiles
            or build_profile_store(
                backend=ctx.memory_backend,
                limits=profile_limits(ctx),
                session_db=ctx.session_db,
                max_users=ctx.memory_max_users,
                memory_id=ctx.agentcore_memory_id,
                region=ctx.aws_region,
            ),
        )

    @property
    def model_configured(self) -> bool:
        return self.model.name != "offline"


# The request plan is one short JSON object; it needs little room and thought.
REQUEST_PLAN_MAX_TOKENS = 256
# A narrative rejected by the number check is asked for once more, with the reason.
NARRATIVE_MAX_ATTEMPTS = 2


@dataclass(frozen=True)
class CallProfiles:
    """How each kind of model call is asked, from the settings: one profile per call site."""

    narrative: CallProfile
    comparison: CallProfile
    answer: CallProfile
    # Its response_format (the plan's JSON schema, which lists the turn's vocabulary) is
    # set per call: fill_plan replaces it on this profile.
    request_plan: CallProfile

    @classmethod
    def from_settings(
        cls, settings: AgentSettings, *, known_symbols: frozenset[str] = frozenset()
    ) -> CallProfiles:
        """Every written text uses the narrative effort and budget; the request plan its own
        (``REASONING_EFFORT_LOOKUP``).

        ``known_symbols``: what a model-proposed ticker must be one of (listed in
        the plan's prompt when the universe is small). No profile names a served
        model: every call asks for the one the client was built for (``MODEL_ADAPTER``,
        else ``OPENAI_MODEL``); a profile's ``model`` would send one call site to
        another adapter.
        """

        def written(purpose: str, system_prompt: str, **retry: Any) -> CallProfile:
            return CallProfile(
                purpose=purpose,
                system_prompt=system_prompt,
                max_tokens=settings.model_max_tokens,
                reasoning_effort=settings.reasoning_effort_narrative,
                **retry,
            )

        return cls(
            narrative=written(
                "narrative",
                NARRATIVE_SYSTEM_PROMPT,
                max_attempts=NARRATIVE_MAX_ATTEMPTS,
                retry_prompt=NARRATIVE_RETRY_PROMPT,
            ),
            comparison=written("comparison", COMPARISON_SYSTEM_PROMPT),
            answer=written("answer", ANSWER_SYSTEM_PROMPT),
            request_plan=CallProfile(
                purpose="request_plan",
                system_prompt=plan_system_prompt(known_symbols),
                max_tokens=REQUEST_PLAN_MAX_TOKENS,
                reasoning_effort=settings.reasoning_effort_lookup,
                max_cold_wait_s=0.0,  # a starting model is a 503 with retry_after, not a wait
            ),
        )


@dataclass(frozen=True)
class RunContext:
    """``runtime.context`` of every node: settings, the clients and the call profiles."""

    settings: AgentSettings
    deps: Dependencies
    profiles: CallProfiles

    @classmethod
    def build(cls, settings: AgentSettings, deps: Dependencies) -> RunContext:
        return cls(
            settings=settings,
            deps=deps,
            profiles=CallProfiles.from_settings(settings, known_symbols=deps.model_symbols),
        )
