"""Session memory: an AgentCore Memory that keeps the agent's conversations.

Uses the stable L2 ``aws_cdk.aws_bedrockagentcore.Memory`` with short-term
memory only (no extraction strategies): the agent stores LangGraph
checkpoints as events through ``AgentCoreMemorySaver``, and events expire
after the stage's ``memory.event_expiry_days``, so the memory bounds itself.

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

from stacks.config import MemorySettings


class MemoryStack(Stack):
    """The AgentCore Memory of one stage's agent sessions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        memory: MemorySettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.memory = agentcore.Memory(
            self,
            "SessionMemory",
            description=f"Conversation sessions of the {stage} stock agent",
            expiration_duration=Duration.days(memory.event_expiry_days),
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
