"""The EventBridge Scheduler role of the watchlist schedule.

Allowed exactly one thing: invoke this stage's runtime on its named endpoint
(plus the send to its own dead-letter queue when a run fails).

Trust: ``scheduler.amazonaws.com`` with ``aws:SourceAccount`` and
``aws:SourceArn`` equal to the schedule **group's** ARN. EventBridge
Scheduler's confused-deputy guide: "The value of aws:SourceArn must be your
EventBridge Scheduler schedule group ARN"; "Do not scope the aws:SourceArn
statement to a specific schedule or a schedule name prefix." A condition on
the schedule's own ARN never matches, so the role could never be assumed.
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from .policy import acknowledge_wildcards, arn


class WatchlistScheduleRole(iam.Role):
    """The role the watchlist schedule invokes the agent runtime with."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime_name: str,
        runtime_endpoint_name: str,
        schedule_name: str,
        schedule_group_name: str,
        dead_letter_queue_name: str,
    ) -> None:
        stack = Stack.of(scope)
        runtime = arn(stack, "bedrock-agentcore", "runtime", f"{runtime_name}-*")
        statements = [
            iam.PolicyStatement(
                sid="InvokeAgentRuntime",
                actions=["bedrock-agentcore:InvokeAgentRuntime"],
                resources=[runtime, f"{runtime}/runtime-endpoint/{runtime_endpoint_name}"],
            ),
            iam.PolicyStatement(
                sid="DeadLetter",
                actions=["sqs:SendMessage"],
                resources=[arn(stack, "sqs", dead_letter_queue_name)],
            ),
        ]
        schedule_group_arn = arn(stack, "scheduler", "schedule-group", schedule_group_name)
        super().__init__(
            scope,
            construct_id,
            description=f"EventBridge Scheduler role of {schedule_name}",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnEquals": {"aws:SourceArn": schedule_group_arn},
                },
            ),
            inline_policies={"watchlist-schedule": iam.PolicyDocument(statements=statements)},
        )
        acknowledge_wildcards(self, statements)
