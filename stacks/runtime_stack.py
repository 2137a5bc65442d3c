"""Runtime: the stock-analysis agent on Amazon Bedrock AgentCore Runtime.

The resources are one :class:`~stacks.constructs.agent_runtime.AgentRuntime`;
this stack gives it the stage's settings and the agent's environment
contract, and prints the outputs. In short:

* the arm64 agent image from the Images stack (by URI: no grants added);
* the execution role from the IAM stack, passed as an immutable view so the
  L2's ``addExecutionRolePermissions`` cannot append statements (they all
  live in the IAM stack);
* the environment contract of ``stock_agent.settings`` (no secrets: every
  value is a name, a number or a level);
* lifecycle configuration (idle timeout, max lifetime) and the named
  ``live`` endpoint on the latest version or the one ``runtime.live_version``
  pins; with ``runtime.canary``, a ``canary`` endpoint beside it (the latest
  version, or ``runtime.canary_version``);
* application logs delivered to a log group with explicit retention;
* inbound auth: IAM (SigV4) unless the stage config sets a JWT authorizer.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Aws, CfnOutput, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.common import log_retention
from stacks.config import (
    ConfigError,
    LogSettings,
    ResourceNames,
    RuntimeSettings,
    ScheduleSettings,
    StorageSettings,
)
from stacks.constructs.agent_runtime import AgentRuntime
from stacks.constructs.runtime_reference import RuntimeLookup, RuntimeParameters
from stacks.constructs.watchlist_schedule import WatchlistSchedule

# Payload accepted by the agent entrypoint, used in the printed invoke command.
EXAMPLE_PAYLOAD = '{"prompt": "Analyze SIM_STOCK for investment purposes"}'
# How the agent's settings spell "no report links" (stock_agent.settings.OFF; a test
# starts the agent with the environment a template gives it).
REPORT_LINKS_OFF = "off"


def runtime_environment(
    *,
    names: ResourceNames,
    runtime: RuntimeSettings,
    storage: StorageSettings,
    endpoint_name: str,
    report_bucket_name: str,
    report_topic_arn: str | None = None,
    session_memory_id: str | None = None,
) -> dict[str, str]:
    """Environment of the agent container (the names ``stock_agent.settings`` and
    ``stock_agent.server.notify`` read)."""
    # The served adapter name the agent sends as the request's "model" (else the base).
    adapter = {"MODEL_ADAPTER": runtime.model_adapter} if runtime.model_adapter else {}
    optional = {}
    if report_topic_arn is not None:
        optional["NOTIFY_TOPIC_ARN"] = report_topic_arn
    if session_memory_id:
        optional["MEMORY_BACKEND"] = "agentcore"
        optional["AGENTCORE_MEMORY_ID"] = session_memory_id
    return {
        **adapter,
        # Presigned report links need s3:GetObject, granted only when they are on.
        "REPORT_URL_EXPIRES_SECONDS": (
            REPORT_LINKS_OFF
            if storage.presigned_link_seconds is None
            else str(storage.presigned_link_seconds)
        ),
        "MODEL_PROVIDER": "sagemaker",
        "SAGEMAKER_ENDPOINT_NAME": endpoint_name,
        "SAGEMAKER_INFERENCE_COMPONENT": names.inference_component,
        "REPORT_BUCKET": report_bucket_name,
        "LOG_LEVEL": runtime.log_level,
        "REQUEST_DEADLINE_SECONDS": str(runtime.request_deadline_seconds),
        "MODEL_COLD_START_WAIT_SECONDS": str(runtime.model_cold_start_wait_seconds),
        # Dimension of the agent's EMF metrics (docs/operations.md, metric contract).
        "STAGE": names.stage,
        # Online evaluation: model-call spans carry the messages its judges read.
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
        **optional,
    }


class RuntimeStack(Stack):
    """The AgentCore runtime, its named endpoint and its application log group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: ResourceNames,
        runtime: RuntimeSettings,
        storage: StorageSettings,
        schedule: ScheduleSettings,
        logs: LogSettings,
        tracing: bool,
        agent_image_uri: str,
        execution_role: iam.IRole,
        endpoint_name: str,
        report_bucket: s3.IBucket,
        runtime_lookup: RuntimeLookup,
        watchlist_role: iam.IRole | None = None,
        session_memory_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        report_topic_arn = (
            self.format_arn(
                service="sns",
                resource=names.report_topic,
                arn_format=ArnFormat.NO_RESOURCE_NAME,
            )
            if schedule.enabled and schedule.notify
            else None
        )
        # "Default" keeps the construct out of the logical IDs (CDK hides that id),
        # so moving the resources into it replaced nothing.
        self.agent_runtime = AgentRuntime(
            self,
            "Default",
            runtime_name=names.runtime,
            description=f"Stock-analysis agent ({names.stage}) on gpt-oss-20b",
            image_uri=agent_image_uri,
            execution_role=execution_role,
            environment=runtime_environment(
                names=names,
                runtime=runtime,
                storage=storage,
                endpoint_name=endpoint_name,
                report_bucket_name=report_bucket.bucket_name,
                report_topic_arn=report_topic_arn,
                session_memory_id=session_memory_id,
            ),
            idle_session_timeout_seconds=runtime.idle_session_timeout_seconds,
            max_lifetime_seconds=runtime.max_lifetime_seconds,
            jwt=runtime.jwt,
            endpoint_name=runtime.endpoint_name,
            endpoint_description=(
                f"Stable endpoint of the {names.stage} agent (latest version)"
                if runtime.live_version is None
                else f"Stable endpoint of the {names.stage} agent (version {runtime.live_version})"
            ),
            live_version=runtime.live_version,
            canary_endpoint_name=runtime.canary_endpoint_name if runtime.canary else None,
            canary_version=runtime.canary_version,
            log_retention=log_retention(logs.retention_days),
            encrypt_logs=logs.kms_encryption,
            tracing=tracing,
            delivery_name_prefix=names.log_delivery_prefix,
        )
        self.runtime = self.agent_runtime.runtime
        self.log_group = self.agent_runtime.log_group
        # Readers find the runtime here, never through an export (runtime_reference.py).
        self.parameters = RuntimeParameters(
            self, "RuntimeParameters", runtime=self.runtime, lookup=runtime_lookup
        )
        # The exports readers imported before they switched to the parameters: CloudFormation
        # refuses to delete an export another stack still imports, so they stay until every
        # stage has deployed the readers once. Nothing imports them after that, so their value
        # may change with a replaced runtime.
        self.export_value(self.runtime.agent_runtime_arn)
        self.export_value(self.runtime.agent_runtime_id)
        self.watchlist: WatchlistSchedule | None = None
        if schedule.enabled:
            if watchlist_role is None:
                raise ConfigError(
                    "schedule.watchlist is set but the IAM stack made no watchlist role"
                )
            self.watchlist = WatchlistSchedule(
                self,
                "Watchlist",
                schedule_name=names.watchlist_schedule,
                schedule_group_name=names.watchlist_schedule_group,
                expression=schedule.expression,
                timezone=schedule.timezone,
                prompt=schedule.prompt(),
                notify=schedule.notify,
                watchlist_source=schedule.watchlist_source,
                runtime_arn=self.runtime.agent_runtime_arn,
                runtime_endpoint_name=runtime.endpoint_name,
                execution_role=watchlist_role,
                dead_letter_queue_name=names.watchlist_dead_letter_queue,
                retry_attempts=schedule.retry_attempts,
                max_event_age_seconds=schedule.max_event_age_seconds,
            )
            CfnOutput(self, "WatchlistScheduleName", value=names.watchlist_schedule)

        CfnOutput(self, "RuntimeArn", value=self.runtime.agent_runtime_arn)
        CfnOutput(self, "RuntimeEndpointName", value=runtime.endpoint_name)
        # What promotion and rollback move between (docs/customization.md).
        CfnOutput(
            self,
            "RuntimeVersion",
            description="The runtime's latest version (each change of its configuration adds one)",
            value=_attribute(self.runtime.agent_runtime_version, "the runtime's version"),
        )
        CfnOutput(
            self,
            "LiveEndpointVersion",
            description=f"The version the {runtime.endpoint_name} endpoint serves",
            value=_attribute(
                self.agent_runtime.runtime_endpoint.live_version, "the live endpoint's version"
            ),
        )
        canary = self.agent_runtime.canary_endpoint
        if canary is not None:
            CfnOutput(self, "CanaryEndpointName", value=runtime.canary_endpoint_name)
            CfnOutput(
                self,
                "CanaryEndpointVersion",
                description=f"The version the {runtime.canary_endpoint_name} endpoint serves",
                value=_attribute(canary.live_version, "the canary endpoint's version"),
            )
            CfnOutput(
                self,
                "CompareCommand",
                description="The promotion gate: the golden set against both endpoints",
                value=Fn.join(
                    "",
                    [
                        "stock-agent eval --runtime-arn ",
                        self.runtime.agent_runtime_arn,
                        f" --baseline qualifier:{runtime.endpoint_name}"
                        f" --candidate qualifier:{runtime.canary_endpoint_name}",
                    ],
                ),
            )
        CfnOutput(
            self,
            "InvokeCommand",
            description="Invokes the agent once (AWS CLI v2; writes the answer to response.json)",
            value=Fn.join(
                "",
                [
                    "aws bedrock-agentcore invoke-agent-runtime --region ",
                    Aws.REGION,
                    " --agent-runtime-arn ",
                    self.runtime.agent_runtime_arn,
                    f" --qualifier {runtime.endpoint_name}",
                    ' --runtime-session-id "$(uuidgen)"',
                    " --content-type application/json",
                    f" --payload '{EXAMPLE_PAYLOAD}'",
                    " --cli-binary-format raw-in-base64-out response.json",
                ],
            ),
        )


def _attribute(value: str | None, what: str) -> str:
    """A resource attribute the L2 types as optional but always sets for a resource it creates."""
    if value is None:
        raise RuntimeError(f"the AgentCore L2 gave no token for {what}")
    return value
