"""Scheduled watchlist reports: an EventBridge Scheduler schedule that invokes the agent.

The schedule's universal target calls ``bedrock-agentcore:InvokeAgentRuntime``
(``arn:<partition>:scheduler:::aws-sdk:bedrockagentcore:invokeAgentRuntime``)
with the watchlist as the prompt, ``"notify": true`` when asked and
``"scheduled": {"watchlist_source": "users"}`` when the users' own watchlists
are the source, on the runtime's named endpoint. A failed invocation is retried
(``retry_attempts``, within ``max_event_age_seconds``), then sent to an
SQS dead-letter queue, KMS-encrypted (AWS-managed key) and TLS-only; the
Monitoring stack alarms on it. The execution role comes from the IAM
stack, allowed exactly this invoke and the dead-letter send.

The schedule lives in a schedule group of its own: EventBridge Scheduler
reports the *group's* ARN as ``aws:SourceArn`` when it assumes the role, so
the role's trust names that group (docs/infrastructure.md, "Scheduled
watchlist reports"). The group's name is derived from the stage, so the IAM
stack can name it before this stack exists; it is deleted with the stack
(never retained, so a redeploy finds the name free) and its logical id is
pinned (a new id would replace it under the same name).

Each run gets its own runtime session: ``RuntimeSessionId`` is a fixed
prefix and Scheduler's execution id, long enough for AgentCore's 33
characters even with the 16-character ids Scheduler documents.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.nag import acknowledge

INVOKE_TARGET_ACTION = "aws-sdk:bedrockagentcore:invokeAgentRuntime"
# Scheduler replaces this context attribute with the id of each attempted invocation.
EXECUTION_ID = "<aws.scheduler.execution-id>"
SESSION_ID_PREFIX = "watchlist-scheduled-run-"
SESSION_ID_TEMPLATE = SESSION_ID_PREFIX + EXECUTION_ID
# InvokeAgentRuntime's runtimeSessionId limits (botocore's bedrock-agentcore model), and the
# shortest execution id Scheduler documents ("d32c5kddcf5bb8c3").
RUNTIME_SESSION_ID_MIN_LENGTH = 33
RUNTIME_SESSION_ID_MAX_LENGTH = 256
SHORTEST_EXECUTION_ID_LENGTH = 16
if len(SESSION_ID_PREFIX) + SHORTEST_EXECUTION_ID_LENGTH < RUNTIME_SESSION_ID_MIN_LENGTH:
    raise ValueError("SESSION_ID_PREFIX is too short for a 16-character execution id")
SCHEDULE_GROUP_LOGICAL_ID = "WatchlistScheduleGroup"
DEAD_LETTER_RETENTION_DAYS = 14


def watchlist_payload(
    *, prompt: str, notify: bool, watchlist_source: str = "stack"
) -> dict[str, Any]:
    """The JSON payload the schedule sends: the agent's own invocation contract.

    ``watchlist_source="users"`` asks the agent to run each opted-in user's
    watchlist, with ``prompt`` (the stack's list) as the fallback.
    """
    payload: dict[str, Any] = {"prompt": prompt}
    if notify:
        payload["notify"] = True
    if watchlist_source != "stack":
        payload["scheduled"] = {"watchlist_source": watchlist_source}
    return payload


class WatchlistSchedule(Construct):
    """A schedule group and its schedule, the dead-letter queue, the target on the runtime."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        schedule_name: str,
        schedule_group_name: str,
        expression: str,
        timezone: str,
        prompt: str,
        notify: bool,
        watchlist_source: str,
        runtime_arn: str,
        runtime_endpoint_name: str,
        execution_role: iam.IRole,
        dead_letter_queue_name: str,
        retry_attempts: int,
        max_event_age_seconds: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.group = scheduler.CfnScheduleGroup(self, "Group", name=schedule_group_name)
        self.group.apply_removal_policy(RemovalPolicy.DESTROY)
        self.group.override_logical_id(SCHEDULE_GROUP_LOGICAL_ID)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=dead_letter_queue_name,
            # The AWS-managed alias/aws/sqs key: its key policy lets principals of
            # this account use it through SQS, so the Scheduler role needs no KMS grant.
            encryption=sqs.QueueEncryption.KMS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(DEAD_LETTER_RETENTION_DAYS),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.dead_letter_queue,
            finding="AwsSolutions-SQS3",
            reason="This queue is itself the dead-letter queue of the watchlist schedule; "
            "a dead-letter queue of a dead-letter queue would only move the messages.",
        )
        self.payload = watchlist_payload(
            prompt=prompt, notify=notify, watchlist_source=watchlist_source
        )
        request = {
            "AgentRuntimeArn": runtime_arn,
            "Qualifier": runtime_endpoint_name,
            "RuntimeSessionId": SESSION_ID_TEMPLATE,
            "ContentType": "application/json",
            "Accept": "application/json",
            "Payload": json.dumps(self.payload, separators=(",", ":")),
        }
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            name=schedule_name,
            group_name=self.group.ref,
            description=f"Watchlist report: {prompt}",
            schedule_expression=expression,
            schedule_expression_timezone=timezone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=stack.format_arn(
                    service="scheduler",
                    region="",
                    account="",
                    resource=INVOKE_TARGET_ACTION,
                    arn_format=ArnFormat.NO_RESOURCE_NAME,
                ),
                role_arn=execution_role.role_arn,
                input=stack.to_json_string(request),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=retry_attempts,
                    maximum_event_age_in_seconds=max_event_age_seconds,
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.dead_letter_queue.queue_arn
                ),
            ),
        )
