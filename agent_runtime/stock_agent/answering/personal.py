"""What the analyst says about, and how it shapes answers for, the user it remembers.

Two jobs, both without a model and without a figure of their own:

- the answers of personal turns (the watchlist changed, shown, the
  preferences stated, shown or forgotten; why there is no long-term memory
  without an identity);
- the shape a stated preference gives an answer: ``brief`` replaces the three
  report sections by one line of verdicts per ticker (the figures stay in the
  JSON results and the PDFs, unchanged); a risk profile adds a note beside the
  risk verdicts. Neither changes a figure, a score, a verdict or a rule, and
  neither turns the analysis into advice: the note says the verdicts are the
  same for everyone and that this is not investment advice.

Preference values come from closed lists (:mod:`stock_agent.memory.user_profile`),
and only the list's own words are ever printed, never stored text.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..memory.user_profile import PREFERENCE_TITLES, PREFERENCES, UserProfile
from ..records import ReportRef, StockAnalysis, StockSnapshot

NO_IDENTITY = (
    "I can only remember a watchlist and preferences for a user I can identify, and this "
    "request carries no identity (a verified bearer token or a runtime user id), so nothing "
    "was read or saved. Send the request with your identity (e.g. `stock-agent invoke "
    "--user-id ...`, or `stock-agent chat`, which uses your login name) to use your watchlist."
)
NOT_INVESTMENT_ADVICE = "This is not investment advice."


def unread_warning(reason: str) -> str:
    """The warning of a turn whose user memory could not be read."""
    return (
        f"your long-term memory could not be read ({reason}): this turn was answered "
        "without your watchlist and preferences"
    )


def unsaved_warning(reason: str) -> str:
    """The warning of a change that could not be saved."""
    return f"your long-term memory could not be written ({reason}): the change was NOT saved"


def _tickers(symbols: Sequence[str]) -> str:
    return ", ".join(symbols) if symbols else "nothing"


def watchlist_text(profile: UserProfile, limit: int) -> str:
    """ "What's on my watchlist?" """
    if not profile.watchlist:
        return (
            "Your watchlist is empty. Add tickers with, e.g., 'add NVDA and AMD to my watchlist'."
        )
    del limit  # the limit is named when a change would pass it (no count here: a number
    # in an answer is a figure of the records, and these are not)
    return (
        f"Your watchlist: {_tickers(profile.watchlist)}. Ask 'how is my watchlist doing?' "
        "for a comparison."
    )


def _preference_lines(profile: UserProfile) -> list[str]:
    return [
        f"- {PREFERENCE_TITLES[key]}: {profile.preference(key)}"
        + ("" if key in profile.preferences else " (default)")
        for key in PREFERENCES
    ]


def profile_text(profile: UserProfile, limit: int) -> str:
    """ "What do you remember about me?": everything stored, nothing else."""
    if profile.empty:
        return "I remember nothing about you: no watchlist and no preferences are stored."
    return "\n".join(
        [
            "This is everything I remember about you:",
            watchlist_text(profile, limit),
            "Preferences:",
            *_preference_lines(profile),
            "Say 'forget my preferences' or 'forget everything' to delete them.",
        ]
    )


def watch_text(before: UserProfile, after: UserProfile, asked: Sequence[str], limit: int) -> str:
    added = [s for s in asked if s not in before.watchlist]
    had = [s for s in asked if s in before.watchlist]
    parts = []
    if added:
        parts.append(f"Added {_tickers(added)} to your watchlist.")
    if had:
        parts.append(f"{_tickers(had)} {'was' if len(had) == 1 else 'were'} already on it.")
    parts.append(watchlist_text(after, limit))
    return " ".join(parts)


def unwatch_text(before: UserProfile, after: UserProfile, asked: Sequence[str], limit: int) -> str:
    dropped = [s for s in asked if s in before.watchlist]
    absent = [s for s in asked if s not in before.watchlist]
    parts = []
    if dropped:
        parts.append(f"Dropped {_tickers(dropped)} from your watchlist.")
    if absent:
        parts.append(f"{_tickers(absent)} {'was' if len(absent) == 1 else 'were'} not on it.")
    parts.append(watchlist_text(after, limit))
    return " ".join(parts)


def preferences_text(stated: Sequence[tuple[str, str]]) -> str:
    """A stated preference, confirmed, with what it changes (and what it never changes)."""
    lines = [f"Noted: {PREFERENCE_TITLES[key]} {value}." for key, value in stated]
    keys = {key for key, _ in stated}
    if "scheduled_watchlist" in keys:
        lines.append(
            "The scheduled watchlist report includes your watchlist while this is on "
            "(where the deployment reads users' watchlists)."
        )
    lines.append(
        "Preferences change how answers are written, never a figure, a score or a verdict."
    )
    return " ".join(lines)


def forgotten_text(what: str, before: UserProfile, after: UserProfile) -> str:
    """What was forgotten, and what is left (a later read shows the same)."""
    if what == "preferences":
        done = (
            "Forgotten: all your preferences (the defaults apply again)."
            if before.preferences
            else "There were no preferences to forget."
        )
        kept = (
            f"Your watchlist is kept: {_tickers(after.watchlist)}."
            if after.watchlist
            else "Your watchlist is empty."
        )
        return f"{done} {kept}"
    if before.empty:
        return "There was nothing to forget: your watchlist is empty and no preferences are stored."
    return (
        "Forgotten: your watchlist and all your preferences. Your watchlist is empty now and "
        "nothing about you is stored."
    )


def empty_watchlist_text(action: str) -> str:
    """ "How is my watchlist doing?" with nothing on it."""
    del action
    return (
        "Your watchlist is empty, so there is nothing to compare yet. Add tickers with, "
        "e.g., 'add NVDA and AMD to my watchlist'."
    )


# ---------------------------------------------------------------------------
# how preferences shape an answer
# ---------------------------------------------------------------------------


def brief_section(snapshot: StockSnapshot, analysis: StockAnalysis, report: ReportRef) -> str:
    """One ticker in brief: its verdicts in words and where its PDF is (no figure)."""
    tech = analysis.technical
    return (
        f"{snapshot.symbol} ({snapshot.company_name}): outlook {analysis.outlook.upper()}; "
        f"trend {tech.trend}, momentum {tech.momentum}; valuation "
        f"{analysis.fundamental.valuation}; risk {analysis.risk_level}. PDF: {report.uri}"
    )


def risk_note(profile: UserProfile, risks: Sequence[tuple[str, str]]) -> str | None:
    """Beside the risk verdicts, the user's stated risk profile (``None`` when unstated).

    ``risks``: (symbol, risk level) of the answer's tickers, as the analysis gives them.
    """
    stated = profile.preference("risk_profile")
    if stated == "unstated" or not risks:
        return None
    levels = "; ".join(f"{symbol} risk {level}" for symbol, level in risks)
    return (
        f"You told me you are a {stated} investor. The risk verdicts are the same for every "
        f"user ({levels}); weigh them against your own profile. {NOT_INVESTMENT_ADVICE}"
    )
