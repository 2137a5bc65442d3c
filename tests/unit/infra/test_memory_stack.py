"""Session memory: the stable L2 AgentCore Memory, short-term only, no role, never retained."""

from __future__ import annotations

from typing import Any

from stacks.memory_stack import EVENT_EXPIRY_DAYS, event_expiry_days
from tests.support.cdk_synth import only, resources


def test_memory_is_short_term_with_the_stages_expiry_and_no_role(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    template = templates["Memory"]
    _, memory = only(template, "AWS::BedrockAgentCore::Memory")
    props = memory["Properties"]
    assert props["EventExpiryDuration"] == EVENT_EXPIRY_DAYS[stage]
    assert "MemoryStrategies" not in props and "MemoryExecutionRoleArn" not in props
    assert not resources(template, "AWS::IAM::Role")  # every role lives in the IAM stack
    # sessions are working state: never retained, so a redeploy never meets a leftover name
    assert memory["DeletionPolicy"] == "Delete" and memory["UpdateReplacePolicy"] == "Delete"


def test_expiry_per_stage_within_agentcores_range() -> None:
    assert event_expiry_days("dev") == 7 and event_expiry_days("prod") == 30
    assert event_expiry_days("qa") == 7
    assert all(7 <= days <= 365 for days in EVENT_EXPIRY_DAYS.values())
