"""The clients a run uses, built from settings (or injected by tests), and the run's context.

LangGraph hands every node ``runtime.context``; here that is a
:class:`RunContext`: the settings plus the clients built from them. Nodes
never build a client themselves, so a test can swap any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .market_data import SIMULATED_UNIVERSE, MarketDataProvider, get_provider, known_symbols
from .models.client import build_model_client
from .models.types import ModelClient
from .reports import storage
from .settings import AgentSettings
from .understanding.names import NameLookup, name_lookup_for


def _universe_names() -> dict[str, str]:
    return {symbol: profile.name for symbol, profile in SIMULATED_UNIVERSE.items()}


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

    @classmethod
    def from_settings(
        cls,
        ctx: AgentSettings,
        *,
        model: ModelClient | None = None,
        provider: MarketDataProvider | None = None,
        store: storage.ReportStore | None = None,
        names: NameLookup | None = None,
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
        )

    @property
    def model_configured(self) -> bool:
        return self.model.name != "offline"


@dataclass(frozen=True)
class RunContext:
    """``runtime.context`` of every node: settings and the clients built from them."""

    settings: AgentSettings
    deps: Dependencies
