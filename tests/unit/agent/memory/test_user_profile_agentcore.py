"""The AgentCore profile store against botocore's service model for ``bedrock-agentcore``.

AgentCore Memory cannot run here. These tests use the real boto3 client with
botocore's ``Stubber``: the client validates every call's parameters against
the service model before the Stubber sees it (a wrong name, type or a missing
required member fails the test), the Stubber checks each call is the one
expected, with exactly these parameters, and validates each canned answer
against the operation's output shape. A call not expected fails the test too,
so these also prove which calls a change makes, and that a refused change
makes no write at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from stock_agent.errors import AgentError
from stock_agent.memory.checkpoints import actor_key
from stock_agent.memory.user_profile import (
    AgentCoreProfiles,
    ProfileLimits,
    ProfileUnavailable,
    UserProfile,
    with_preferences,
    with_tickers,
    without_tickers,
)

from stacks.constructs.roles import USER_MEMORY_ACTIONS

MEMORY_ID = "StockAgentMemory_dev-AbCdEf1234"
ALICE, BOB = actor_key("user:alice"), actor_key("user:bob")
LIMITS = ProfileLimits(max_tickers=3, max_preferences=4)
OPTED_IN = {"kind": "preference", "key": "scheduled_watchlist", "value": "on"}
#: The only operations the runtime role is granted on the memory for profiles.
# What the IAM stack grants the runtime role on the memory (its UserMemory statement): a call
# outside it would be refused in the account, so a test that makes one fails here.
GRANTED = {action.removeprefix("bedrock-agentcore:") for action in USER_MEMORY_ACTIONS}
assert {"BatchCreateMemoryRecords", "ListMemoryRecords", "BatchDeleteMemoryRecords"} == GRANTED


def record_id(n: int) -> str:
    return f"mem-{n:036d}"  # the model's MemoryRecordId: 40-50 characters, mem-...


def summary(n: int, namespace: str, content: dict[str, Any], minute: int) -> dict[str, Any]:
    at = datetime(2026, 12, 1, 9, minute, tzinfo=UTC)
    return {
        "memoryRecordId": record_id(n),
        "content": {"text": json.dumps(content)},
        "memoryStrategyId": "direct",
        "namespaces": [namespace],
        "createdAt": at,
        "timestamp": at,
    }


def alice_records() -> list[dict[str, Any]]:
    watch, prefs = f"/users/{ALICE}/watchlist", f"/users/{ALICE}/preferences"
    return [
        summary(1, watch, {"kind": "watch", "ticker": "AAPL"}, 1),
        summary(2, watch, {"kind": "watch", "ticker": "MSFT"}, 2),
        summary(3, prefs, {"kind": "preference", "key": "answer_length", "value": "detailed"}, 3),
        # A newer value of the same preference (an update whose delete did not land).
        summary(4, prefs, {"kind": "preference", "key": "answer_length", "value": "brief"}, 4),
    ]


@pytest.fixture
def client() -> Iterator[tuple[Any, Stubber]]:
    boto = boto3.client(
        "bedrock-agentcore", region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    calls: list[str] = []
    boto.meta.events.register("before-call.bedrock-agentcore.*",
                              lambda model, **_: calls.append(model.name))  # fmt: skip
    with Stubber(boto) as stub:
        yield boto, stub
        stub.assert_no_pending_responses()
    assert set(calls) <= GRANTED, f"not granted: {set(calls) - GRANTED}"


def store_on(boto: Any) -> AgentCoreProfiles:
    return AgentCoreProfiles(memory_id=MEMORY_ID, limits=LIMITS, client=boto, clock=lambda: 1e9)


def expect_list(stub: Stubber, records: list[dict[str, Any]], **where: str) -> None:
    stub.add_response(
        "list_memory_records",
        {"memoryRecordSummaries": records},
        {"memoryId": MEMORY_ID, "maxResults": 100, **where},
    )


def test_a_profile_is_read_from_the_actors_namespace_only(client: tuple[Any, Stubber]) -> None:
    boto, stub = client
    leaked = summary(9, f"/users/{BOB}/watchlist", {"kind": "watch", "ticker": "TSLA"}, 5)
    expect_list(stub, [*alice_records(), leaked], namespacePath=f"/users/{ALICE}/")
    profile = store_on(boto).read(ALICE)
    # Bob's record, even if the service returned it, is never read as Alice's.
    assert profile == UserProfile(("AAPL", "MSFT"), {"answer_length": "brief"})


def test_adding_tickers_creates_one_record_each_in_the_watchlist_namespace(
    client: tuple[Any, Stubber],
) -> None:
    boto, stub = client
    expect_list(stub, alice_records(), namespacePath=f"/users/{ALICE}/")
    stub.add_response(
        "batch_create_memory_records",
        {"successfulRecords": [], "failedRecords": []},
        {
            "memoryId": MEMORY_ID,
            "records": [
                {
                    "requestIdentifier": "r0",
                    "namespaces": [f"/users/{ALICE}/watchlist"],
                    "content": {"text": '{"kind":"watch","ticker":"NVDA"}'},
                    "timestamp": ANY,
                }
            ],
        },
    )
    # The stale preference record found on the way is cleaned up (the newest one stays).
    stub.add_response(
        "batch_delete_memory_records",
        {"successfulRecords": [], "failedRecords": []},
        {"memoryId": MEMORY_ID, "records": [
            {"memoryRecordId": record_id(3), "namespace": f"/users/{ALICE}/preferences"}]},
    )  # fmt: skip
    new = store_on(boto).update(ALICE, lambda p: with_tickers(p, ["NVDA"]))
    assert new.watchlist == ("AAPL", "MSFT", "NVDA")


def test_a_change_over_the_bound_reads_and_writes_nothing(client: tuple[Any, Stubber]) -> None:
    boto, stub = client
    expect_list(stub, alice_records(), namespacePath=f"/users/{ALICE}/")
    with pytest.raises(AgentError) as refused:
        store_on(boto).update(ALICE, lambda p: with_tickers(p, ["NVDA", "AMD"]))
    assert refused.value.code == "watchlist_full"
    # No create or delete was queued: one would have failed the Stubber.


def test_opting_in_marks_the_actor_in_the_subscribers_namespace(
    client: tuple[Any, Stubber],
) -> None:
    boto, stub = client
    expect_list(stub, [], namespacePath=f"/users/{ALICE}/")
    expect_list(stub, [], namespace=f"/subscribers/{ALICE}")
    stub.add_response(
        "batch_create_memory_records",
        {"successfulRecords": [], "failedRecords": []},
        {"memoryId": MEMORY_ID, "records": [
            {"requestIdentifier": "r0", "namespaces": [f"/users/{ALICE}/watchlist"],
             "content": {"text": '{"kind":"watch","ticker":"AAPL"}'}, "timestamp": ANY},
            {"requestIdentifier": "r1", "namespaces": [f"/users/{ALICE}/preferences"],
             "content": {"text": '{"kind":"preference","key":"scheduled_watchlist","value":"on"}'},
             "timestamp": ANY},
            {"requestIdentifier": "r2", "namespaces": [f"/subscribers/{ALICE}"],
             "content": {"text": '{"kind":"subscriber"}'}, "timestamp": ANY},
        ]},
    )  # fmt: skip
    opt_in = [("scheduled_watchlist", "on")]
    store_on(boto).update(ALICE, lambda p: with_preferences(with_tickers(p, ["AAPL"]), opt_in))


def test_forget_everything_deletes_every_record_of_the_actor_and_its_subscription(
    client: tuple[Any, Stubber],
) -> None:
    boto, stub = client
    prefs = f"/users/{ALICE}/preferences"
    opted = summary(5, prefs, OPTED_IN, 6)
    mark = summary(6, f"/subscribers/{ALICE}", {"kind": "subscriber"}, 6)
    expect_list(stub, [*alice_records(), opted], namespacePath=f"/users/{ALICE}/")
    expect_list(stub, [mark], namespace=f"/subscribers/{ALICE}")
    stub.add_response(
        "batch_delete_memory_records",
        {"successfulRecords": [], "failedRecords": []},
        {"memoryId": MEMORY_ID, "records": [
            {"memoryRecordId": record_id(n), "namespace": ns} for n, ns in (
                (1, f"/users/{ALICE}/watchlist"), (2, f"/users/{ALICE}/watchlist"),
                (3, prefs), (4, prefs), (5, prefs), (6, f"/subscribers/{ALICE}"))]},
    )  # fmt: skip
    assert store_on(boto).update(ALICE, lambda p: UserProfile()) == UserProfile()


def test_removing_a_ticker_deletes_only_its_record(client: tuple[Any, Stubber]) -> None:
    boto, stub = client
    records = alice_records()[:2] + alice_records()[3:]
    expect_list(stub, records, namespacePath=f"/users/{ALICE}/")
    stub.add_response(
        "batch_delete_memory_records",
        {"successfulRecords": [], "failedRecords": []},
        {"memoryId": MEMORY_ID, "records": [
            {"memoryRecordId": record_id(1), "namespace": f"/users/{ALICE}/watchlist"}]},
    )  # fmt: skip
    assert store_on(boto).update(ALICE, lambda p: without_tickers(p, ["AAPL"])).watchlist == (
        "MSFT",
    )


@pytest.mark.parametrize(
    ("code", "status"), [("ThrottlingException", 429), ("ServiceUnavailableException", 503)]
)
def test_a_throttled_or_unavailable_memory_is_reported_not_raised_raw(
    client: tuple[Any, Stubber], code: str, status: int
) -> None:
    boto, stub = client
    stub.add_client_error("list_memory_records", service_error_code=code,
                          http_status_code=status)  # fmt: skip
    with pytest.raises(ProfileUnavailable, match=f"ListMemoryRecords: {code}"):
        store_on(boto).read(ALICE)


def test_records_that_failed_to_be_written_are_a_failure_not_a_silent_loss(
    client: tuple[Any, Stubber],
) -> None:
    boto, stub = client
    expect_list(stub, [], namespacePath=f"/users/{ALICE}/")
    stub.add_response(
        "batch_create_memory_records",
        {"successfulRecords": [], "failedRecords": [
            {"memoryRecordId": record_id(7), "status": "FAILED", "requestIdentifier": "r0",
             "errorCode": 500, "errorMessage": "internal"}]},
        {"memoryId": MEMORY_ID, "records": ANY},
    )  # fmt: skip
    with pytest.raises(ProfileUnavailable, match="1 of 1 records not written"):
        store_on(boto).update(ALICE, lambda p: with_tickers(p, ["AAPL"]))


def test_the_scheduled_run_lists_subscribers_then_reads_each_watchlist(
    client: tuple[Any, Stubber],
) -> None:
    boto, stub = client
    prefs = f"/users/{ALICE}/preferences"
    expect_list(stub, [summary(6, f"/subscribers/{ALICE}", {"kind": "subscriber"}, 6)],
                namespacePath="/subscribers/")  # fmt: skip
    opted = summary(5, prefs, OPTED_IN, 6)
    expect_list(stub, [*alice_records(), opted], namespacePath=f"/users/{ALICE}/")
    found = store_on(boto).subscribers(5)
    assert [(a, p.watchlist) for a, p in found] == [(ALICE, ("AAPL", "MSFT"))]
