"""The hardening rules at their edges: time limits, admission bounds, temp-file age,
header and body limits, invisible characters, terminal safety, reasoning effort."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest
from stock_agent.client.invoke_http import terminal_safe
from stock_agent.contract import validate_payload
from stock_agent.deadline import (
    WATCHDOG,
    RequestControl,
    Watchdog,
    map_bounded,
    request_control,
    request_deadline,
)
from stock_agent.errors import AgentError
from stock_agent.models.types import ModelError
from stock_agent.models.wire import build_chat_body
from stock_agent.reports.storage import remove_stale_temp_files
from stock_agent.server.http_guard import _hostname, declared_length
from stock_agent.server.limits import Admission, AdmissionLimits
from stock_agent.settings import AgentSettings, ConfigError
from stock_agent.understanding.parsing import no_ticker_error, parse_request

MESSAGES = [{"role": "user", "content": "x"}]

# ------------------------------------------------------------ deadline


def test_the_watchdog_fires_at_its_time_and_not_when_cancelled() -> None:
    fired = threading.Event()
    skipped = threading.Event()
    cancelled = WATCHDOG.schedule(time.monotonic() + 0.05, skipped.set)
    Watchdog.cancel(cancelled)
    alarm = WATCHDOG.schedule(time.monotonic() + 0.1, fired.set)
    assert fired.wait(2.0) and alarm.fired
    assert not skipped.is_set() and not cancelled.fired


def test_map_bounded_stops_waiting_at_its_time_but_keeps_the_fast_results() -> None:
    def work(item: str) -> str:
        time.sleep(5.0 if item == "slow" else 0.0)
        return item.upper()

    started = time.monotonic()
    results = dict(
        map_bounded(work, ["fast", "slow"], max_workers=2, until=started + 0.3, stage="x")
    )
    assert results["fast"] == "FAST"
    slow = results["slow"]
    assert isinstance(slow, AgentError) and slow.code == "deadline_exceeded"
    assert time.monotonic() - started < 1.0


def test_a_cancelled_request_runs_no_more_items() -> None:
    calls: list[str] = []
    control = RequestControl.starting_now(60)
    control.cancel("gone")
    with request_control(control):
        results = dict(
            map_bounded(calls.append, ["A", "B"], max_workers=2, until=None, stage="narrative")
        )
    assert calls == []
    assert {r.code for r in results.values() if isinstance(r, AgentError)} == {
        "client_disconnected"
    }


def test_the_request_deadline_counts_from_arrival() -> None:
    control = RequestControl(deadline=time.monotonic() + 1.0)
    with request_control(control):
        assert request_deadline(240) == control.deadline
    assert request_deadline(240) > time.monotonic() + 239


# ------------------------------------------------------------ admission


def test_admission_limits_at_their_edges() -> None:
    AdmissionLimits(max_running=1, max_queued=0)
    with pytest.raises(ValueError, match="max_running"):
        AdmissionLimits(max_running=0)
    with pytest.raises(ValueError, match="max_queued"):
        AdmissionLimits(max_queued=-1)


def test_past_running_and_queued_the_next_request_is_refused_at_once() -> None:
    async def scenario() -> tuple[str, int]:
        admission = Admission(AdmissionLimits(max_running=1, max_queued=1, queue_wait_s=5))
        release = asyncio.Event()

        async def hold() -> None:
            async with admission.turn():
                await release.wait()

        first = asyncio.create_task(hold())
        await asyncio.sleep(0.01)
        second = asyncio.create_task(hold())  # waits: the queue has room for one
        await asyncio.sleep(0.01)
        assert (admission.running, admission.waiting) == (1, 1)
        try:
            async with admission.turn():
                return "admitted", 0
        except AgentError as err:
            code, retry = err.code, err.retry_after or 0
        finally:
            release.set()
            await asyncio.gather(first, second)
        assert admission.in_flight == 0
        return code, retry

    assert asyncio.run(scenario()) == ("server_busy", 5)


def test_a_queued_request_gives_up_after_the_queue_wait() -> None:
    async def scenario() -> str:
        admission = Admission(AdmissionLimits(max_running=1, max_queued=4, queue_wait_s=0.1))
        async with admission.turn():
            try:
                async with admission.turn():
                    return "admitted"
            except AgentError as err:
                return err.code

    assert asyncio.run(scenario()) == "server_busy"


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("max_concurrent_requests", 1, True),
        ("max_concurrent_requests", 256, True),
        ("max_concurrent_requests", 0, False),
        ("max_concurrent_requests", 257, False),
        ("max_queued_requests", 0, True),
        ("max_queued_requests", 4096, True),
        ("max_queued_requests", -1, False),
        ("max_queued_requests", 4097, False),
    ],
)
def test_server_bounds_are_validated(name: str, value: int, ok: bool) -> None:
    if ok:
        assert getattr(AgentSettings(**{name: value}), name) == value
    else:
        with pytest.raises(ConfigError, match=name.upper()):
            AgentSettings(**{name: value})


# ------------------------------------------------------------ stale temp files


@pytest.mark.parametrize(("age_s", "removed"), [(59.0, False), (61.0, True)])
def test_stale_temp_files_are_removed_after_one_minute(
    tmp_path: Path, age_s: float, removed: bool
) -> None:
    temp = tmp_path / "2026" / ".KO_Stock_Report_x.pdf.abc.tmp"
    temp.parent.mkdir()
    temp.write_bytes(b"")
    now = time.time()
    os.utime(temp, (now - age_s, now - age_s))
    assert bool(remove_stale_temp_files(tmp_path, now=now)) is removed
    assert temp.exists() is not removed


def test_only_report_temp_files_are_touched(tmp_path: Path) -> None:
    other = tmp_path / ".notes.tmp"
    other.write_text("mine")
    os.utime(other, (0, 0))
    assert remove_stale_temp_files(tmp_path) == []
    assert other.exists()


# ------------------------------------------------------------ front door


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("localhost:8080", "localhost"),
        ("LOCALHOST.", "localhost"),
        ("[::1]:8080", "::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("evil.example:80", "evil.example"),
    ],
)
def test_host_names_are_read_without_port_or_case(host: str, name: str) -> None:
    assert _hostname(host) == name


def _scope(**headers: str) -> dict[str, object]:
    return {"headers": [(k.encode(), v.encode()) for k, v in headers.items()]}


def test_a_declared_length_at_the_limit_passes_and_one_byte_more_does_not() -> None:
    assert declared_length(_scope(**{"content-length": "65536"}), 65536) == 65536
    with pytest.raises(AgentError) as info:
        declared_length(_scope(**{"content-length": "65537"}), 65536)
    assert info.value.code == "payload_too_large"
    with pytest.raises(AgentError) as bad:
        declared_length(_scope(**{"content-length": "-1"}), 65536)
    assert bad.value.code == "invalid_header"


# ------------------------------------------------------------ prompts and tickers


def test_invisible_characters_are_named_and_visible_unicode_is_not_refused() -> None:
    with pytest.raises(AgentError) as info:
        validate_payload({"prompt": "Analyze AA\u200bPL and K\u200bO"})
    assert info.value.code == "invalid_prompt"
    assert info.value.message.count("U+200B ZERO WIDTH SPACE") == 1  # named once
    assert validate_payload({"prompt": "Analyze KO 株 ✓ é"}).prompt == "Analyze KO 株 ✓ é"


def test_a_dollar_suggestion_only_for_known_symbols_written_in_capitals() -> None:
    known = frozenset({"T", "KO"})
    assert parse_request("Analyze T", known_symbols=known).dollar_hints == ("T",)
    assert parse_request("analyze t please", known_symbols=known).dollar_hints == ()
    assert parse_request("Is it a buy", known_symbols=known).dollar_hints == ()
    assert "'Analyze $T'" in no_ticker_error(dollar_hints=("T",)).message


# ------------------------------------------------------------ terminal and model wire


def test_terminal_safe_shows_escapes_instead_of_obeying_them() -> None:
    text = "a\x1b[2J\x1b]0;t\x07\x9b31m\u202eb\u200b\x7f\nc\td"
    safe = terminal_safe(text)
    assert safe == "a\\x1b[2J\\x1b]0;t\\x07\\x9b31m\\u202eb\\u200b\\x7f\nc\td"


@pytest.mark.parametrize("effort", ["low", "medium", "high"])
def test_reasoning_effort_goes_into_the_body(effort: str) -> None:
    body = build_chat_body(
        MESSAGES, model="m", max_tokens=8, temperature=0, reasoning_effort=effort
    )
    assert body["reasoning_effort"] == effort


def test_no_reasoning_effort_means_no_field_and_a_bad_one_is_refused() -> None:
    assert "reasoning_effort" not in build_chat_body(
        MESSAGES, model="m", max_tokens=8, temperature=0
    )
    with pytest.raises(ModelError) as info:
        build_chat_body(MESSAGES, model="m", max_tokens=8, temperature=0, reasoning_effort="max")
    assert info.value.code == "model_client_error"


def test_public_model_messages_name_no_host() -> None:
    err = ModelError("model_timeout", "http://10.1.2.3:8000/v1/chat/completions did not answer")
    assert "10.1.2.3" not in err.public_message and err.public_message
