"""Settings from the environment: named when bad, accepted at their limits, carried to their use."""

from __future__ import annotations

from pathlib import Path

import pytest
from stock_agent.agent import StockAgent
from stock_agent.context import Dependencies
from stock_agent.market_data import YFinanceProvider
from stock_agent.settings import AgentSettings, ConfigError


def test_settings_read_from_the_environment() -> None:
    ctx = AgentSettings.from_env(
        {
            "RISK_FREE_RATE": "0.042",
            "MARKET_DATA_CACHE_DIR": "/tmp/mdc",
            "MARKET_DATA_CACHE_TTL_SECONDS": "60",
        }
    )
    assert (ctx.risk_free_rate, ctx.market_data_cache_dir) == (0.042, "/tmp/mdc")
    assert ctx.market_data_cache_ttl_seconds == 60.0
    defaults = AgentSettings.from_env({})
    assert defaults.risk_free_rate == 0.0 and defaults.market_data_cache_ttl_seconds == 3600.0


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"RISK_FREE_RATE": "0.2501"}, "RISK_FREE_RATE"),
        ({"RISK_FREE_RATE": "-0.0501"}, "RISK_FREE_RATE"),
        ({"RISK_FREE_RATE": "4%"}, "RISK_FREE_RATE"),
        ({"MARKET_DATA_CACHE_TTL_SECONDS": "-1"}, "MARKET_DATA_CACHE_TTL_SECONDS"),
        ({"MARKET_DATA_CACHE_TTL_SECONDS": "604801"}, "MARKET_DATA_CACHE_TTL_SECONDS"),
        ({"SERVER_PROTOCOL": "a2a"}, "SERVER_PROTOCOL"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        AgentSettings.from_env(env)


@pytest.mark.parametrize(
    "env",
    [
        {"RISK_FREE_RATE": "0.25"},
        {"RISK_FREE_RATE": "-0.05"},
        {"MARKET_DATA_CACHE_TTL_SECONDS": "0"},
        {"MARKET_DATA_CACHE_TTL_SECONDS": "604800"},
        {"SERVER_PROTOCOL": "MCP"},
        {"SERVER_PROTOCOL": "http"},
    ],
)
def test_settings_at_their_limits_are_accepted(env: dict[str, str]) -> None:
    AgentSettings.from_env(env)


def test_yfinance_provider_gets_the_cache_settings(tmp_path: Path) -> None:
    ctx = AgentSettings.from_env(
        {"DATA_PROVIDER": "yfinance", "MARKET_DATA_CACHE_DIR": str(tmp_path)},
        market_data_cache_ttl_seconds=5.0,
    )
    provider = Dependencies.from_settings(ctx).provider
    assert isinstance(provider, YFinanceProvider)
    cache = provider._cache
    assert cache is not None and cache.directory == tmp_path and cache.ttl_seconds == 5.0


def test_risk_free_rate_reaches_the_record_and_the_report_text(tmp_path: Path) -> None:
    agent = StockAgent(
        ctx=AgentSettings.from_env({}, reports_dir=str(tmp_path), risk_free_rate=0.04)
    )
    [result] = agent.invoke("Analyze KO", request_id="req-rf")["results"]
    assert result["analysis"]["indicators"]["risk_free_rate"] == 0.04
    assert result["key_figures"]["Risk-Free Rate"] == "4.00%"
    assert "- Risk-Free Rate: 4.00%" in result["sections"]["performance_analysis"]


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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("off", None), ("OFF", None), ("60", 60), ("3600", 3600)],
)
def test_report_links_are_a_lifetime_or_off(raw: str, expected: int | None) -> None:
    """One spelling of "no links" (off, None in the settings); the lifetime's edges pass."""
    assert AgentSettings.from_env(
        {"REPORT_URL_EXPIRES_SECONDS": raw}
    ).report_url_expires_seconds == (expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0", "seconds in [60, 3600], or off for no links"),  # 0 is not a second spelling of off
        ("59", "seconds in [60, 3600], or off for no links"),
        ("3601", "seconds in [60, 3600], or off for no links"),
        ("never", "expected a number or off"),
    ],
)
def test_other_report_link_values_are_refused_naming_what_is_allowed(
    raw: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match="REPORT_URL_EXPIRES_SECONDS") as info:
        AgentSettings.from_env({"REPORT_URL_EXPIRES_SECONDS": raw})
    assert expected in str(info.value)
