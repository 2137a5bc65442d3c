"""Session memory: the stable L2 AgentCore Memory, short-term only, no role, never retained."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import ConfigError, load_stage
from tests.support.cdk_synth import only, resources


def test_memory_is_short_term_with_the_stages_expiry_and_no_role(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    template = templates["Memory"]
    _, memory = only(template, "AWS::BedrockAgentCore::Memory")
    props = memory["Properties"]
    assert props["EventExpiryDuration"] == load_stage(stage).memory.event_expiry_days
    assert "MemoryStrategies" not in props and "MemoryExecutionRoleArn" not in props
    assert not resources(template, "AWS::IAM::Role")  # every role lives in the IAM stack
    # sessions are working state: never retained, so a redeploy never meets a leftover name
    assert memory["DeletionPolicy"] == "Delete" and memory["UpdateReplacePolicy"] == "Delete"


def test_expiry_per_stage() -> None:
    assert load_stage("dev").memory.event_expiry_days == 7
    assert load_stage("prod").memory.event_expiry_days == 30


@pytest.mark.parametrize(("days", "ok"), [("6", False), ("7", True), ("365", True), ("366", False)])
def test_expiry_stays_within_agentcores_range(days: str, ok: bool) -> None:
    """AgentCore Memory keeps short-term events for 7 to 365 days."""
    overrides = {"memory.event_expiry_days": days}
    if ok:
        assert load_stage("dev", overrides).memory.event_expiry_days == int(days)
        return
    with pytest.raises(ConfigError) as caught:
        load_stage("dev", overrides)
    assert str(caught.value) == (
        f"memory.event_expiry_days={int(days)} is invalid: expected an integer >= 7 and <= 365"
    )
