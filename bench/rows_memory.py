"""Row 12: the user's long-term memory (watchlist and preferences).

12a  reading the user's context per turn, locally: the time spent inside the profile
     store's ``read`` per turn (the one read a turn makes), over ``--runs`` turns of an
     identified user, on the SQLite store (``stock-agent chat``: the session file) and
     the in-memory one (``stock-agent serve``); the larger p50 is the figure.
12b  "how is my watchlist doing?" for a five-ticker watchlist, offline model, simulated
     data, in-process, no session (every ticker analysed, every PDF and the comparison
     PDF rendered and stored, each run); p50 wall time.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from .report import Row, fmt_ms, percentile


def _fine_ms(seconds: float) -> str:
    """Milliseconds to two decimals: a read well under a millisecond is not "0 ms"."""
    return f"{seconds * 1000:.2f} ms"


READ_TARGET_S = 0.005
REVIEW_TARGET_S = 0.300
WATCHLIST = ("NVDA", "AMD", "INTC", "AAPL", "MSFT")
# Turns of an identified user that read the profile and do little else (answered from
# the profile or the session), so the read is measured inside ordinary turns.
TURNS = ("what's on my watchlist?", "what do you remember about me?")


class _TimedStore:
    """A profile store that adds up the time spent in ``read`` (the turn's one read)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.limits = inner.limits
        self.reads: list[float] = []

    def read(self, actor: str) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.read(actor)
        finally:
            self.reads.append(time.perf_counter() - started)

    def update(self, actor: str, change: Any) -> Any:
        return self.inner.update(actor, change)

    def subscribers(self, limit: int) -> Any:
        return self.inner.subscribers(limit)


def _agent(ctx: Any, profiles: Any) -> Any:
    from stock_agent.agent import Dependencies, StockAgent

    return StockAgent(ctx=ctx, dependencies=Dependencies.from_settings(ctx, profiles=profiles))


def row12(*, runs: int) -> list[Row]:
    from stock_agent.context import profile_limits
    from stock_agent.memory.user_profile import InMemoryProfiles, SqliteProfiles
    from stock_agent.settings import AgentSettings

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-row12-") as scratch:
        ctx = AgentSettings(
            model_provider="offline", data_provider="simulated", reports_dir=scratch
        )
        limits = profile_limits(ctx)
        stores = {
            "sqlite": SqliteProfiles(Path(scratch) / "sessions.sqlite", limits=limits),
            "memory": InMemoryProfiles(limits=limits, max_users=ctx.memory_max_users),
        }
        p50s: dict[str, float] = {}
        for name, store in stores.items():
            timed = _TimedStore(store)
            agent = _agent(ctx, timed)
            agent.invoke(f"add {', '.join(WATCHLIST)} to my watchlist", request_id="w",
                         actor="user:bench")  # fmt: skip
            agent.invoke("keep answers brief", request_id="p", actor="user:bench")
            timed.reads.clear()
            for i in range(max(runs, 2)):
                agent.invoke(TURNS[i % len(TURNS)], request_id=f"t{i}", session_id="bench-12a",
                             actor="user:bench")  # fmt: skip
            p50s[name] = percentile(timed.reads, 50)
        worst = max(p50s.values())
        rows.append(
            Row(
                number="12a",
                what="reading the user's context per turn, local",
                figure=f"p50 {_fine_ms(worst)}",
                target="p50 ≤ 5 ms",
                ok=worst <= READ_TARGET_S,
                note=f"{max(runs, 2)} identified turns per store: SQLite (chat's session file) "
                f"p50 {_fine_ms(p50s['sqlite'])}, in memory (serve) p50 "
                f"{_fine_ms(p50s['memory'])}; "
                "one read per turn, a 5-ticker watchlist and a preference stored",
            )
        )

        agent = _agent(ctx, InMemoryProfiles(limits=limits, max_users=10))
        agent.invoke(f"add {', '.join(WATCHLIST)} to my watchlist", request_id="w",
                     actor="user:bench")  # fmt: skip
        agent.invoke("how is my watchlist doing?", request_id="warm", actor="user:bench")
        samples: list[float] = []
        singles: list[float] = []  # row 1's analysis, interleaved: how busy the machine is
        for i in range(runs):
            started = time.perf_counter()
            response = agent.invoke("how is my watchlist doing?", request_id=f"r{i}",
                                    actor="user:bench")  # fmt: skip
            samples.append(time.perf_counter() - started)
            started = time.perf_counter()
            agent.invoke("Analyze SIM_STOCK", request_id=f"s{i}")
            singles.append(time.perf_counter() - started)
            if response["tickers"] != list(WATCHLIST) or not response["comparison"]["report"]:
                raise RuntimeError(f"not the watchlist's comparison: {response['tickers']}")
        p50 = percentile(samples, 50)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        rows.append(
            Row(
                number="12b",
                what="'how is my watchlist doing?', 5 tickers, offline",
                figure=f"p50 {fmt_ms(p50)}",
                target="p50 ≤ 300 ms",
                ok=p50 <= REVIEW_TARGET_S,
                note=f"{runs} runs after a warm-up; p90 {fmt_ms(percentile(samples, 90))}; "
                f"5 ticker PDFs and the comparison PDF rendered in this process (no render "
                f"pool) each run; stages of the last run: {_stages(response)}; "
                f"a one-ticker analysis interleaved (row 1's measure) p50 "
                f"{fmt_ms(percentile(singles, 50))}; load average {load:.1f} on "
                f"{os.cpu_count()} CPUs",
            )
        )
    return rows


def _stages(response: dict[str, Any]) -> str:
    timings = response["metrics"]["timings_ms"]
    return ", ".join(f"{k} {v:.0f} ms" for k, v in timings.items())
