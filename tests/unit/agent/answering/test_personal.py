"""The personal answers and the risk note: only the closed lists' words, never advice."""

from __future__ import annotations

from stock_agent.answering import personal
from stock_agent.memory.user_profile import UserProfile


def test_the_risk_note_appears_only_for_a_stated_profile_and_never_as_advice() -> None:
    risks = [("NVDA", "HIGH"), ("AAPL", "LOW")]
    assert personal.risk_note(UserProfile(), risks) is None
    assert personal.risk_note(UserProfile(preferences={"risk_profile": "aggressive"}), []) is None
    note = personal.risk_note(UserProfile(preferences={"risk_profile": "conservative"}), risks)
    assert note is not None
    assert "conservative investor" in note and "NVDA risk HIGH; AAPL risk LOW" in note
    assert "same for every user" in note and note.endswith("This is not investment advice.")
    for call in ("buy", "sell", "hold"):
        assert f" {call} " not in f" {note.lower()} "


def test_what_is_remembered_lists_everything_stored_and_marks_defaults() -> None:
    profile = UserProfile(("NVDA", "AMD"), {"answer_length": "brief"})
    text = personal.profile_text(profile, 10)
    assert "Your watchlist: NVDA, AMD." in text
    assert "- answer length: brief\n" in text
    assert "- comparison PDFs: on (default)" in text
    assert "- risk profile: unstated (default)" in text
    assert personal.profile_text(UserProfile(), 10).startswith("I remember nothing")


def test_watch_and_unwatch_say_what_changed_and_what_did_not() -> None:
    before, after = UserProfile(("NVDA",)), UserProfile(("NVDA", "AMD"))
    text = personal.watch_text(before, after, ["NVDA", "AMD"], 10)
    assert text.startswith("Added AMD to your watchlist. NVDA was already on it.")
    text = personal.unwatch_text(after, before, ["AMD", "TSLA"], 10)
    assert text.startswith("Dropped AMD from your watchlist. TSLA was not on it.")
