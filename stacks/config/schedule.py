"""``schedule``: scheduled watchlist reports (off while ``watchlist`` is empty)."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

from .errors import flag, positive, require

# The ticker shape and the per-request limit are the agent's own (a test checks
# both against the agent's payload validation and ticker parsing; the stacks
# never import the agent).
WATCHLIST_TICKER_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{0,9}(?:[._][A-Z0-9]{1,10}){0,2}$")
MAX_WATCHLIST_TICKERS = 5
# EventBridge Scheduler expressions: cron with six fields, or rate with a unit.
SCHEDULE_CRON_PATTERN = re.compile(r"^cron\((\S+ ){5}\S+\)$")
SCHEDULE_RATE_PATTERN = re.compile(
    r"^rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)$"
)
# EventBridge Scheduler's retry policy limits.
SCHEDULE_MAX_RETRY_ATTEMPTS = 185
SCHEDULE_MIN_EVENT_AGE_SECONDS = 60
SCHEDULE_MAX_EVENT_AGE_SECONDS = 86_400
# Where a scheduled run takes its tickers: the stack's list, or each opted-in user's
# watchlist from long-term memory (the stack's list stays the fallback when nobody has
# opted in, so it is required either way).
WATCHLIST_SOURCES = ("stack", "users")


@dataclass(frozen=True, kw_only=True)
class ScheduleSettings:
    """Optional scheduled reports of a watchlist (off while ``watchlist`` is empty).

    EventBridge Scheduler invokes the agent runtime with the watchlist as the
    prompt; with ``notify`` the agent publishes one SNS message per run. With
    ``watchlist_source="users"`` the run takes the watchlist of every user who
    opted in (docs/memory.md), and the stack's list when nobody has.
    """

    watchlist: tuple[str, ...] = ()
    # 16:30 New York time on weekdays: after the US market close.
    expression: str = "cron(30 16 ? * MON-FRI *)"
    timezone: str = "America/New_York"
    notify: bool = True
    retry_attempts: int = 2
    max_event_age_seconds: int = 3600
    watchlist_source: str = "stack"

    @property
    def enabled(self) -> bool:
        return bool(self.watchlist)

    def validate(self) -> None:
        require(
            len(self.watchlist) <= MAX_WATCHLIST_TICKERS,
            "schedule.watchlist",
            ",".join(self.watchlist),
            f"at most {MAX_WATCHLIST_TICKERS} tickers (the agent's limit per request)",
        )
        for ticker in self.watchlist:
            require(
                WATCHLIST_TICKER_PATTERN.fullmatch(ticker) is not None,
                "schedule.watchlist",
                ticker,
                "upper-case tickers like AAPL, BRK.B or SIM_STOCK, separated by commas",
            )
        require(
            len(set(self.watchlist)) == len(self.watchlist),
            "schedule.watchlist",
            ",".join(self.watchlist),
            "each ticker once",
        )
        require(
            SCHEDULE_CRON_PATTERN.fullmatch(self.expression) is not None
            or SCHEDULE_RATE_PATTERN.fullmatch(self.expression) is not None,
            "schedule.expression",
            self.expression,
            "cron(<min> <hour> <day-of-month> <month> <day-of-week> <year>) or "
            "rate(<n> minutes|hours|days)",
        )
        require(
            _is_time_zone(self.timezone),
            "schedule.timezone",
            self.timezone,
            "an IANA time zone such as America/New_York or UTC",
        )
        flag("schedule.notify", self.notify)
        require(
            self.watchlist_source in WATCHLIST_SOURCES,
            "schedule.watchlist_source",
            self.watchlist_source,
            " or ".join(WATCHLIST_SOURCES)
            + " (users: each opted-in user's watchlist, the stack's list as the fallback)",
        )
        positive(
            "schedule.retry_attempts",
            self.retry_attempts,
            minimum=0,
            maximum=SCHEDULE_MAX_RETRY_ATTEMPTS,
        )
        positive(
            "schedule.max_event_age_seconds",
            self.max_event_age_seconds,
            minimum=SCHEDULE_MIN_EVENT_AGE_SECONDS,
            maximum=SCHEDULE_MAX_EVENT_AGE_SECONDS,
        )

    def prompt(self) -> str:
        """What the schedule asks the agent: the watchlist, by ticker."""
        return f"Analyze {', '.join(self.watchlist)} for investment purposes"


def _is_time_zone(name: str) -> bool:
    if not name or name.startswith("/") or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
