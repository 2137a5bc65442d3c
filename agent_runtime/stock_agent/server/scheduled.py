"""The scheduled run over the users' own watchlists (``"scheduled": {"watchlist_source": ...}``).

The schedule sends the agent's invocation contract. With ``"users"``, the run
takes each opted-in user's watchlist instead of the stack's list: at most
``SCHEDULE_MAX_SUBSCRIBERS`` users, read through the profile store
(AgentCore: ``ListMemoryRecords`` on ``/subscribers/``, then each user's
records), each watchlist compared (or analysed, for one ticker) as one turn
without a session, its first tickers up to one request's limit. The turns
share the request's deadline: once it has passed, the users not reached are
listed as skipped, never silently dropped.

The runs are the plain reports (no user preference applies: the scheduled
report is the full one), and the response names users only by their opaque
actor key. With no opted-in user, or a store that does not answer, the run
falls back to the stack's list (the prompt), and a warning says why. With
``"stack"`` (or no ``scheduled`` key) it is the stack's list, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ..agent import StockAgent
from ..errors import AgentError
from ..memory.user_profile import ProfileUnavailable
from ..settings import MAX_TICKERS_PER_REQUEST

logger = logging.getLogger(__name__)


def watchlist_prompt(tickers: Sequence[str]) -> str:
    """The request a user's watchlist makes: a comparison, or one analysis."""
    shown = list(tickers[:MAX_TICKERS_PER_REQUEST])
    return f"Compare {', '.join(shown)}" if len(shown) > 1 else f"Analyze {shown[0]}"


def run_users_watchlists(
    agent: StockAgent, *, prompt: str, request_id: str, warnings: Sequence[str] = ()
) -> dict[str, Any]:
    """One turn per opted-in user's watchlist; the stack's ``prompt`` when there is none."""
    limit = agent.ctx.schedule_max_subscribers
    try:
        subscribers = agent.dependencies.profiles.subscribers(limit)
    except ProfileUnavailable as err:
        logger.warning("scheduled run: subscribers not read", extra={"error": str(err)})
        return _stack_run(agent, prompt, request_id, warnings,
                          f"the opted-in users could not be read ({err})")  # fmt: skip
    due = [(actor, profile.watchlist) for actor, profile in subscribers if profile.watchlist]
    if not due:
        return _stack_run(agent, prompt, request_id, warnings,
                          "no user has opted in with a watchlist")  # fmt: skip
    users: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    texts: list[str] = []
    notes = list(warnings)
    degraded = False
    for index, (actor, watchlist) in enumerate(due):
        entry: dict[str, Any] = {
            "user": actor,
            "tickers": list(watchlist[:MAX_TICKERS_PER_REQUEST]),
        }
        if len(watchlist) > MAX_TICKERS_PER_REQUEST:
            entry["left_out"] = list(watchlist[MAX_TICKERS_PER_REQUEST:])
        try:
            response = agent.invoke(
                watchlist_prompt(watchlist), request_id=f"{request_id}-u{index + 1}"
            )
        except AgentError as err:
            entry["error"] = {"code": err.code, "message": err.message}
            users.append(entry)
            if err.code == "deadline_exceeded":
                skipped = [a for a, _ in due[index + 1 :]]
                notes.append(f"the run's deadline passed: {len(skipped)} users were not reached")
                users.extend({"user": a, "skipped": "deadline"} for a in skipped)
                degraded = True
                break
            continue
        entry["comparison"] = (response.get("comparison") or {}).get("report")
        entry["reports"] = [r["report"] for r in response["results"]]
        users.append(entry)
        results.extend(response["results"])
        texts.append(f"--- {actor} ---\n{response['text']}")
        degraded = degraded or bool(response.get("degraded"))
    return {
        "request_id": request_id,
        "intent": "scheduled",
        "tickers": list(dict.fromkeys(r["symbol"] for r in results)),
        "results": results,
        "scheduled": {"watchlist_source": "users", "users": users, "limit": limit},
        "degraded": degraded,
        "warnings": notes,
        "text": "\n".join(texts),
    }


def _stack_run(
    agent: StockAgent, prompt: str, request_id: str, warnings: Sequence[str], why: str
) -> dict[str, Any]:
    note = f"scheduled run on the stack's list: {why}"
    response = agent.invoke(prompt, request_id=request_id, warnings=[*warnings, note])
    response["scheduled"] = {"watchlist_source": "stack", "fallback": why}
    return response
