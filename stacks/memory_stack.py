"""The agent's AgentCore Memory: its conversations and what it remembers about each user.

Uses the stable L2 ``aws_cdk.aws_bedrockagentcore.Memory`` with no extraction
strategies. Short-term: the agent stores LangGraph checkpoints as events
through ``AgentCoreMemorySaver``, and events expire after the stage's
``memory.event_expiry_days``, so the sessions bound themselves. Long-term:
each user's watchlist and preferences are memory records the agent writes
directly (``BatchCreateMemoryRecords``) under the namespace of that user's
verified identity; direct writes need neither a strategy nor a namespace
declared on the resource, so the resource itself is unchanged by them.

* **No execution role.** The L2 creates one for extraction strategies; with
  none, the service never assumes it, so it is removed: every role of the
  app lives in the IAM stack, and the runtime role's access to this memory
  is a statement there (``CreateEvent``/``ListEvents`` on this ARN only).
* **Always destroyed with the stack.** Sessions are short-lived working
  state; a user's watchlist and preferences are small and restated in a
  sentence, and ``cdk destroy`` is the documented way to remove everything
  the app stored (docs/memory.md). A retained memory would also keep its
  generated name and block a redeploy.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from constructs import Construct

from stacks.config import MemorySettings


class MemoryStack(Stack):
    """The AgentCore Memory of one stage's agent: sessions and user records."""

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
