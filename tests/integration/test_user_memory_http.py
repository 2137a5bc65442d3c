"""The user's long-term memory over HTTP against the real local server (`stock-agent serve`).

A watchlist set in one session is read in another with the same identity, and by
nobody else: not another identity, not a caller without one, not a guessed
session id. Offline model, simulated data; the servers keep profiles in memory
(the default) or in the SQLite session file (``MEMORY_BACKEND=sqlite``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import RunningServer, start_agent_server
from tests.support.http_invoke import USER_ID, bearer, invoke

pytestmark = pytest.mark.slow

ALICE = {"Authorization": bearer("alice")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("user-memory")
    with start_agent_server(
        reports_dir=root / "reports", env={"USER_WATCHLIST_MAX_TICKERS": "3"}
    ) as running:
        yield running


def test_a_watchlist_set_in_one_session_is_read_in_another_by_its_user_only(
    server: RunningServer,
) -> None:
    status, body = invoke(
        server, {"prompt": "add NVDA and AMD to my watchlist", "session_id": "monday"}, ALICE
    )
    assert status == 200 and body["intent"] == "personal", body
    assert body["user"]["watchlist"] == ["NVDA", "AMD"]

    status, body = invoke(server, {"prompt": "what's on my watchlist?", "session_id": "friday"},
                          ALICE)  # fmt: skip
    assert status == 200 and "NVDA, AMD" in body["answer"]

    for headers in ({"Authorization": bearer("mallory")}, {USER_ID: "mallory"}):
        status, body = invoke(
            server, {"prompt": "what's on my watchlist?", "session_id": "friday"}, headers
        )
        assert status == 200 and "Your watchlist is empty" in body["answer"], headers
        # ... and cannot change or delete Alice's.
        invoke(server, {"prompt": "forget everything", "session_id": "friday"}, headers)
        invoke(server, {"prompt": "drop NVDA", "session_id": "monday"}, headers)

    # No identity, even with Alice's session id: no long-term memory, and the answer says why.
    status, body = invoke(server, {"prompt": "what's on my watchlist?", "session_id": "monday"})
    assert status == 200 and body["user"] == {"identified": False}
    assert "no identity" in body["answer"] and "NVDA" not in body["answer"]

    status, body = invoke(server, {"prompt": "what's on my watchlist?"}, ALICE)
    assert body["user"]["watchlist"] == ["NVDA", "AMD"]


def test_how_is_my_watchlist_doing_compares_it_and_preferences_follow_the_user(
    server: RunningServer,
) -> None:
    bob = {USER_ID: "bob"}
    invoke(server, {"prompt": "add apple and MSFT to my list", "session_id": "b1"}, bob)
    status, full = invoke(server, {"prompt": "how is my watchlist doing?", "session_id": "b2"}, bob)
    assert status == 200 and full["intent"] == "compare" and full["tickers"] == ["AAPL", "MSFT"]
    assert full["comparison"]["report"]["uri"].endswith(".pdf")

    invoke(server, {"prompt": "keep answers brief and skip the PDFs", "session_id": "b3"}, bob)
    status, brief = invoke(server, {"prompt": "how is my watchlist doing?", "session_id": "b4"},
                           bob)  # fmt: skip
    assert status == 200 and brief["comparison"]["report"] is None
    assert brief["text"].startswith("SUMMARY (brief") and len(brief["text"]) < len(full["text"])
    # The same figures, scores and verdicts with and without the preferences.
    for before, after in zip(full["results"], brief["results"], strict=True):
        assert before["key_figures"] == after["key_figures"]
        assert before["analysis"] == after["analysis"]
    assert brief["comparison"]["table"] == full["comparison"]["table"]


def test_over_the_bound_is_422_naming_the_limit_and_nothing_is_added(
    server: RunningServer,
) -> None:
    carol = {USER_ID: "carol"}
    invoke(server, {"prompt": "add NVDA and AMD to my watchlist"}, carol)
    status, body = invoke(server, {"prompt": "add TSLA and INTC to my watchlist"}, carol)
    assert status == 422 and body["error"]["code"] == "watchlist_full"
    assert "at most 3 tickers" in body["error"]["message"]
    status, body = invoke(server, {"prompt": "add TSLA to my watchlist"}, carol)
    assert status == 200 and body["user"]["watchlist"] == ["NVDA", "AMD", "TSLA"]
    status, body = invoke(server, {"prompt": "add SIM_NOPE to my watchlist"}, carol)
    assert status == 422 and body["error"]["code"] == "unknown_ticker"


def test_an_unreadable_memory_answers_degraded_never_5xx(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite"
    env = {"MEMORY_BACKEND": "sqlite", "SESSION_DB": str(db)}
    with start_agent_server(reports_dir=tmp_path / "reports", env=env) as running:
        status, body = invoke(running, {"prompt": "add NVDA to my watchlist"}, ALICE)
        assert status == 200 and body["user"]["watchlist"] == ["NVDA"]
        with sqlite3.connect(db) as connection:  # the table is replaced by something unreadable
            connection.execute("DROP TABLE user_profiles")
            connection.execute("CREATE VIEW user_profiles AS SELECT 1 AS unrelated")
        status, body = invoke(running, {"prompt": "Analyze AAPL"}, ALICE)
        assert status == 200 and body["degraded"] is True
        assert any("long-term memory could not be read" in w for w in body["warnings"])
        assert body["results"][0]["symbol"] == "AAPL"
        status, body = invoke(running, {"prompt": "add MSFT to my watchlist"}, ALICE)
        assert status == 200 and body["degraded"] is True and "Nothing was" in body["answer"]


SCHEDULED_USERS = {"watchlist_source": "users"}


def test_the_scheduled_run_takes_each_opted_in_users_watchlist(tmp_path: Path) -> None:
    env = {"MEMORY_BACKEND": "sqlite", "SESSION_DB": str(tmp_path / "s.sqlite"),
           "SCHEDULE_MAX_SUBSCRIBERS": "2"}  # fmt: skip
    with start_agent_server(reports_dir=tmp_path / "reports", env=env) as running:
        # Nobody opted in yet: the stack's list, as before, and the response says why.
        status, body = invoke(running, {"prompt": "Analyze KO", "scheduled": SCHEDULED_USERS})
        assert status == 200 and body["tickers"] == ["KO"]
        fallback = "no user has opted in with a watchlist"
        assert body["scheduled"] == {"watchlist_source": "stack", "fallback": fallback}
        for user, tickers, opted in (("alice", "NVDA and AMD", True), ("bob", "TSLA", False),
                                     ("carol", "INTC", True), ("dave", "PFE", True)):  # fmt: skip
            headers = {USER_ID: user}
            invoke(running, {"prompt": f"add {tickers} to my watchlist"}, headers)
            if opted:
                status, body = invoke(
                    running, {"prompt": "include my watchlist in the scheduled report"}, headers
                )
                assert body["user"]["preferences"] == {"scheduled_watchlist": "on"}
        status, body = invoke(running, {"prompt": "Analyze KO", "scheduled": SCHEDULED_USERS})
        assert status == 200 and body["scheduled"]["watchlist_source"] == "users"
        users = body["scheduled"]["users"]
        # At most SCHEDULE_MAX_SUBSCRIBERS users, the earliest opted in first; never Bob.
        assert [u["tickers"] for u in users] == [["NVDA", "AMD"], ["INTC"]]
        assert users[0]["comparison"]["uri"].endswith(".pdf")
        assert body["tickers"] == ["NVDA", "AMD", "INTC"] and "KO" not in body["tickers"]
        assert all(u["user"].startswith("actor-") for u in users)  # opaque keys, no names
        # The stack's list stays what it was when the payload asks for it.
        status, body = invoke(running, {"prompt": "Analyze KO",
                                        "scheduled": {"watchlist_source": "stack"}})  # fmt: skip
        assert status == 200 and body["tickers"] == ["KO"]
        status, body = invoke(running, {"prompt": "Analyze KO",
                                        "scheduled": {"watchlist_source": "everyone"}})  # fmt: skip
        assert status == 400 and "'stack' or 'users'" in body["error"]["message"]
