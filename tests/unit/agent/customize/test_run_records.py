"""Run records: the reader refuses bad shapes by name; settings that govern them are validated."""

from __future__ import annotations

import json
from typing import Any

import pytest
from stock_agent.customize.run_records import (
    SCHEMA,
    RunRecordError,
    hash_actor,
    model_description,
    parse_run_record,
)
from stock_agent.reports import storage
from stock_agent.settings import AgentSettings, ConfigError


def _good() -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "symbol": "AAPL",
        "record": {"narrative_input": {"symbol": "AAPL"}, "allowed_figures": ["1.5"]},
        "prompt_messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        "answers": [{"attempt": 1, "content": "text", "passed": True}],
        "narrative": {"text": "text"},
    }


def test_a_good_record_parses() -> None:
    assert parse_run_record(json.dumps(_good()))["symbol"] == "AAPL"


@pytest.mark.parametrize(
    ("mutate", "names"),
    [
        (lambda r: r.update(schema="stock-agent/run-record/v0"), "schema"),
        (lambda r: r.update(symbol=""), "symbol"),
        (lambda r: r["record"].pop("narrative_input"), "record.narrative_input"),
        (lambda r: r["record"].update(allowed_figures=[1.5]), "record.allowed_figures"),
        (lambda r: r.update(prompt_messages=[{"role": "user"}]), "prompt_messages"),
        (lambda r: r.update(prompt_messages=[]), "prompt_messages"),
        (lambda r: r["answers"][0].pop("passed"), "answers[0]"),
        (lambda r: r["answers"][0].update(passed="yes"), "answers[0]"),
        (lambda r: r.update(answers={}), "answers"),
        (lambda r: r.update(narrative={"text": None}), "narrative.text"),
    ],
)
def test_bad_records_are_refused_naming_the_field(mutate: Any, names: str) -> None:
    record = _good()
    mutate(record)
    with pytest.raises(RunRecordError, match=names.replace("[", r"\[").replace("]", r"\]")):
        parse_run_record(json.dumps(record))


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"\xff\xfe", b'"text"'])
def test_non_records_are_refused(data: bytes) -> None:
    with pytest.raises(RunRecordError):
        parse_run_record(data)


def test_actor_is_a_short_stable_hash_and_absent_without_a_session() -> None:
    assert hash_actor(None) is None and hash_actor("") is None
    actor = hash_actor("s" * 40)
    assert actor == hash_actor("s" * 40) != hash_actor("t" * 40)
    assert actor is not None and len(actor) == 16 and "s" * 4 not in actor


def test_model_description_drops_credentials_and_query_from_the_url() -> None:
    ctx = AgentSettings(
        model_provider="openai",
        openai_base_url="https://user:hunter2@models.example.com:8443/v1?token=abc",
        openai_api_key="sk-secret",
        model_adapter="narrator-v2",
    )
    described = model_description(ctx)
    assert described == {
        "provider": "openai",
        "endpoint": "https://models.example.com:8443/v1",
        "base_model": "model",
        "adapter": "narrator-v2",
        "requested_model": "narrator-v2",
    }


def test_run_record_key_swaps_only_the_suffix() -> None:
    key = "2025/09/04/AAPL_Stock_Report_20250904_231155_ab12cd34.pdf"
    assert storage.run_record_key(key) == key[:-4] + ".json"
    with pytest.raises(ValueError, match=r"does not end with \.pdf"):
        storage.run_record_key(key[:-4] + ".json")
    with pytest.raises(ValueError, match="not a relative"):
        storage.run_record_key("../" + key)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("true", True), ("ON", True), ("1", True), ("yes", True)],
        *[("false", False), ("off", False), ("0", False), ("No", False)],
    ],
)
def test_run_records_switch_spellings(raw: str, expected: bool) -> None:
    assert AgentSettings.from_env({"RUN_RECORDS": raw}).run_records is expected


def test_run_records_default_on_and_garbage_refused_by_name() -> None:
    assert AgentSettings.from_env({}).run_records is True
    with pytest.raises(ConfigError, match=r"RUN_RECORDS='maybe' is invalid: expected 1 \| true"):
        AgentSettings.from_env({"RUN_RECORDS": "maybe"})


def test_model_adapter_name_edges() -> None:
    base = {"MODEL_PROVIDER": "openai", "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"}
    longest = "a" + "b" * 63
    assert AgentSettings.from_env({**base, "MODEL_ADAPTER": longest}).served_model == longest
    assert AgentSettings.from_env(base).served_model == "model"
    for bad in ("a" + "b" * 64, "-leading-dash", "has space", "slash/name"):
        with pytest.raises(ConfigError, match="MODEL_ADAPTER="):
            AgentSettings.from_env({**base, "MODEL_ADAPTER": bad})
    with pytest.raises(ConfigError, match="MODEL_ADAPTER='x' is invalid: expected unset"):
        AgentSettings.from_env({"MODEL_ADAPTER": "x"})
