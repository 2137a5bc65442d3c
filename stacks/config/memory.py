"""``memory``: the AgentCore Memory that keeps the agent's conversations."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import positive

# AgentCore Memory's short-term event expiry limits (days).
MIN_EVENT_EXPIRY_DAYS = 7
MAX_EVENT_EXPIRY_DAYS = 365


@dataclass(frozen=True, kw_only=True)
class MemorySettings:
    """Short-term memory only: events expire, so the memory bounds itself."""

    event_expiry_days: int = MIN_EVENT_EXPIRY_DAYS

    def validate(self) -> None:
        positive(
            "memory.event_expiry_days",
            self.event_expiry_days,
            minimum=MIN_EVENT_EXPIRY_DAYS,
            maximum=MAX_EVENT_EXPIRY_DAYS,
        )
