"""The agent's settings at their edges: every range pinned at and just across its ends, the
defaults the documentation states, the prompt limit the contract states, and switches.
"""

from __future__ import annotations

import re

import pytest
from stock_agent.settings import MAX_PROMPT_CHARS, AgentSettings, ConfigError

from tests.support.paths import REPO_ROOT

# (setting, the value at the edge that is accepted, the value just across it that is refused)
EDGES = [
    ("request_deadline_seconds", 0.001, 0.0),
    ("request_deadline_seconds", 3600.0, 3600.5),
    ("model_timeout_seconds", 0.001, 0.0),
    ("model_timeout_seconds", 3600.0, 3600.5),
    ("model_cold_start_wait_seconds", 0.001, 0.0),
    ("model_cold_start_wait_seconds", 3600.0, 3600.5),
    ("model_max_retries", 0, -1),
    ("model_max_retries", 10, 11),
    ("model_max_tokens", 16, 15),
    ("model_max_tokens", 32768, 32769),
    ("session_max_turns", 1, 0),
    ("session_max_turns", 100, 101),
    ("session_max_records", 1, 0),
    ("session_max_records", 50, 51),
    ("memory_max_sessions", 1, 0),
    ("memory_max_sessions", 100_000, 100_001),
    ("memory_session_idle_seconds", 1.0, 0.5),
    ("memory_session_idle_seconds", 604800.0, 604801.0),
    ("report_url_expires_seconds", 60, 59),
    ("report_url_expires_seconds", 3600, 3601),
]


@pytest.mark.parametrize(("name", "ok", "refused"), EDGES)
def test_every_range_is_pinned_at_its_edge(name: str, ok: float, refused: float) -> None:
    assert getattr(AgentSettings(**{name: ok}), name) == ok  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=f"^{name.upper()}="):
        AgentSettings(**{name: refused})  # type: ignore[arg-type]


def _documented_defaults() -> dict[str, str]:
    """``VARIABLE -> default`` from the environment table of docs/usage.md, where a row names
    its variables and their defaults one for one (``60, 3``)."""
    text = (REPO_ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    table = text[text.index("| variable | default | meaning |") :]
    found: dict[str, str] = {}
    for row in table.splitlines()[2:]:
        if not row.startswith("|"):
            break
        names_cell, defaults_cell = (cell.strip() for cell in row.strip("|").split("|")[:2])
        names = re.findall(r"`([A-Z_]+)`", names_cell)
        defaults = [d.strip().strip("`") for d in defaults_cell.split(", ")]
        if len(names) == len(defaults):
            found.update(zip(names, defaults, strict=True))
    return found


ENV_NAMES = {
    "MODEL_PROVIDER": "model_provider",
    "DATA_PROVIDER": "data_provider",
    "RISK_FREE_RATE": "risk_free_rate",
    "REPORTS_DIR": "reports_dir",
    "REQUEST_DEADLINE_SECONDS": "request_deadline_seconds",
    "MODEL_TIMEOUT_SECONDS": "model_timeout_seconds",
    "MODEL_MAX_RETRIES": "model_max_retries",
    "MODEL_COLD_START_WAIT_SECONDS": "model_cold_start_wait_seconds",
    "REASONING_EFFORT_LOOKUP": "reasoning_effort_lookup",
    "REASONING_EFFORT_NARRATIVE": "reasoning_effort_narrative",
    "MAX_CONCURRENT_REQUESTS": "max_concurrent_requests",
    "MAX_QUEUED_REQUESTS": "max_queued_requests",
    "LOG_LEVEL": "log_level",
    "STAGE": "stage",
    "SERVER_PROTOCOL": "server_protocol",
    "MEMORY_BACKEND": "memory_backend",
    "SESSION_MAX_TURNS": "session_max_turns",
    "SESSION_MAX_RECORDS": "session_max_records",
    "MEMORY_MAX_SESSIONS": "memory_max_sessions",
    "MEMORY_SESSION_IDLE_SECONDS": "memory_session_idle_seconds",
    "REPORT_URL_EXPIRES_SECONDS": "report_url_expires_seconds",
}


def test_the_documented_defaults_are_the_defaults() -> None:
    documented = _documented_defaults()
    assert set(ENV_NAMES) <= set(documented), set(ENV_NAMES) - set(documented)
    settings = AgentSettings.from_env({})
    for variable, field in ENV_NAMES.items():
        value, stated = getattr(settings, field), documented[variable]
        if isinstance(value, (int, float)):
            assert value == float(stated), variable
        else:
            assert value == stated, variable


def test_model_content_is_not_recorded_unless_asked() -> None:
    assert AgentSettings.from_env({}).trace_model_content is False
    on = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}
    assert AgentSettings.from_env(on).trace_model_content is True


def test_the_prompt_limit_is_the_one_the_contract_states() -> None:
    doc = (REPO_ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert f'the limit is {MAX_PROMPT_CHARS}"' in doc  # the observed 413 quotes 4096


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", True), ("true", True), ("YES", True), ("on", True),
     ("0", False), ("false", False), ("No", False), ("off", False)],
)  # fmt: skip
def test_a_switch_takes_the_usual_spellings(raw: str, value: bool) -> None:
    assert AgentSettings.from_env({"RUN_RECORDS": raw}).run_records is value


def test_any_other_switch_value_is_refused_naming_the_spellings() -> None:
    message = "RUN_RECORDS='maybe' is invalid: expected 1 | true | yes | on | 0 | false | no | off"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        AgentSettings.from_env({"RUN_RECORDS": "maybe"})


def test_an_adapter_needs_a_model_to_adapt() -> None:
    served = AgentSettings(
        model_provider="openai", openai_base_url="http://127.0.0.1:8000/v1", model_adapter="a1"
    )
    assert served.served_model == "a1"
    with pytest.raises(ConfigError, match="MODEL_ADAPTER='a1' is invalid: expected unset when"):
        AgentSettings(model_adapter="a1")


def test_an_override_of_none_means_unset_except_for_a_setting_that_can_be_off() -> None:
    """The command line passes None for every option not given; only a link lifetime set to
    None means 'off'."""
    unset = AgentSettings.from_env({"REPORTS_DIR": "from-env"}, reports_dir=None, stage=None)
    assert (unset.reports_dir, unset.stage) == ("from-env", "local")
    off = AgentSettings.from_env(
        {"REPORT_URL_EXPIRES_SECONDS": "600"}, report_url_expires_seconds=None
    )
    assert off.report_url_expires_seconds is None
