"""Session memory: an AgentCore Memory that keeps the agent's conversations.

Uses the stable L2 ``aws_cdk.aws_bedrockagentcore.Memory`` with short-term
memory only (no extraction strategies): the agent stores LangGraph
checkpoints as events through ``AgentCoreMemorySaver``, and events expire
after the stage's :data:`EVENT_EXPIRY_DAYS`, so the memory bounds itself.

* **No execution role.** The L2 creates one for extraction strategies; with
  none, the service never assumes it, so it is removed: every role of the
  app lives in the IAM stack, and the runtime role's access to this memory
  is a statement there (``CreateEvent``/``ListEvents`` on this ARN only).
* **Always destroyed with the stack.** Sessions are short-lived working
  state, not records; a retained memory would also keep its generated name
  and block a redeploy.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from constructs import Construct

from stacks.config import StageConfig

# Short-term event expiry per stage, in days (AgentCore allows 7..365).
EVENT_EXPIRY_DAYS = {"dev": 7, "prod": 30}
DEFAULT_EVENT_EXPIRY_DAYS = 7


def event_expiry_days(stage: str) -> int:
    """The expiry of the stage's session events (``DEFAULT_EVENT_EXPIRY_DAYS`` elsewhere)."""
    return EVENT_EXPIRY_DAYS.get(stage, DEFAULT_EVENT_EXPIRY_DAYS)


class MemoryStack(Stack):
    """The AgentCore Memory of one stage's agent sessions."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.memory = agentcore.Memory(
            self,
            "SessionMemory",
            description=f"Conversation sessions of the {config.stage} stock agent",
            expiration_duration=Duration.days(event_expiry_days(config.stage)),
        )
        # Short-term only: no strategy needs the service role the L2 adds by default.
        self.memory.node.try_remove_child("ServiceRole")
        cfn = self.memory.node.find_child("Memory")
        if not isinstance(cfn, agentcore.CfnMemory):  # the L2's layout changed: fail the synth
            raise TypeError(f"expected the L2's CfnMemory child, found {type(cfn).__name__}")
        cfn.add_property_deletion_override("MemoryExecutionRoleArn")
        cfn.apply_removal_policy(RemovalPolicy.DESTROY)
        CfnOutput(self, "MemoryId", value=self.memory.memory_id)
        CfnOutput(self, "MemoryArn", value=self.memory.memory_arn)
