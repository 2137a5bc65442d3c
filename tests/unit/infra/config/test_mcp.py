"""``mcp``: each setting refused past its limit with the key named, accepted at it."""

from __future__ import annotations

import pytest

from stacks.config import ConfigError, load_stage


def test_off_in_dev_on_in_prod_with_cognito_and_search() -> None:
    dev, prod = load_stage("dev").mcp, load_stage("prod").mcp
    assert (dev.enabled, prod.enabled) == (False, True)
    assert (prod.gateway_auth, prod.semantic_search, prod.endpoint_name) == (
        "cognito", True, "live"
    )  # fmt: skip
    assert load_stage("dev", {"mcp.enabled": "true"}).mcp.enabled is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mcp.gateway_auth": "ldap"},
         "mcp.gateway_auth='ldap' is invalid: expected cognito | aws_iam"),
        ({"mcp.enabled": "maybe"}, "mcp.enabled"),
        ({"mcp.endpoint_name": "DEFAULT"}, "not DEFAULT"),
        ({"mcp.idle_session_timeout_seconds": "59"}, "mcp.idle_session_timeout_seconds=59"),
        ({"mcp.idle_session_timeout_seconds": "28801"}, "<= 28800"),
        ({"mcp.max_lifetime_seconds": "899"}, "mcp.max_lifetime_seconds=899"),
    ],
)  # fmt: skip
def test_bad_mcp_settings_name_the_key(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_stage("dev", overrides)
    assert message in str(caught.value)


def test_mcp_limits_at_their_edges_are_accepted() -> None:
    for overrides in (
        {"mcp.idle_session_timeout_seconds": "60", "mcp.max_lifetime_seconds": "60"},
        {"mcp.idle_session_timeout_seconds": "28800", "mcp.max_lifetime_seconds": "28800"},
    ):
        assert load_stage("dev", overrides).mcp.max_lifetime_seconds == int(
            overrides["mcp.max_lifetime_seconds"]
        )
