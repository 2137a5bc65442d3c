"""Agent runtime: the stock-analysis agent on Amazon Bedrock AgentCore Runtime.

Uses the stable L2 ``aws_cdk.aws_bedrockagentcore.Runtime`` with:

* the arm64 agent image from the Images stack (by URI: no grants added);
* the execution role from the IAM stack, passed as an immutable view so the
  L2's ``addExecutionRolePermissions`` cannot append statements (they all
  live in the IAM stack);
* the environment contract of ``stock_agent.context`` (no secrets: every
  value is a name, a number or a level);
* lifecycle configuration (idle timeout, max lifetime) and a named runtime
  endpoint that always points at the latest version;
* application logs delivered to a log group with explicit retention;
* inbound auth: IAM (SigV4) unless the stage config sets a JWT authorizer.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, Aws, CfnOutput, Duration, Fn, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.common import log_retention, removal_policy
from stacks.config import StageConfig
from stacks.operations.tracing import allow_trace_delivery

# Payload accepted by the agent entrypoint, used in the printed invoke command.
EXAMPLE_PAYLOAD = '{"prompt": "Analyze SIM_STOCK for investment purposes"}'


def runtime_environment(
    config: StageConfig, *, endpoint_name: str, report_bucket_name: str
) -> dict[str, str]:
    """Environment of the agent container (the names ``stock_agent.context`` reads)."""
    runtime = config.runtime
    # The served adapter name the agent sends as the request's "model" (else the base).
    adapter = {"MODEL_ADAPTER": runtime.model_adapter} if runtime.model_adapter else {}
    return {
        **adapter,
        "MODEL_PROVIDER": "sagemaker",
        "SAGEMAKER_ENDPOINT_NAME": endpoint_name,
        "SAGEMAKER_INFERENCE_COMPONENT": config.inference_component_name,
        "REPORT_BUCKET": report_bucket_name,
        "AWS_REGION": Aws.REGION,
        "LOG_LEVEL": runtime.log_level,
        "REQUEST_DEADLINE_SECONDS": str(runtime.request_deadline_seconds),
        "MODEL_COLD_START_WAIT_SECONDS": str(runtime.model_cold_start_wait_seconds),
        # Dimension of the agent's EMF metrics (docs/operations.md, metric contract).
        "STAGE": config.stage,
    }


def _authorizer(config: StageConfig) -> agentcore.RuntimeAuthorizerConfiguration | None:
    jwt = config.runtime.jwt
    if jwt is None:
        return None  # the L2 default: IAM (SigV4)
    return agentcore.RuntimeAuthorizerConfiguration.using_jwt(
        jwt.discovery_url,
        list(jwt.allowed_clients) or None,
        list(jwt.allowed_audience) or None,
    )


class RuntimeStack(Stack):
    """The AgentCore runtime, its named endpoint and its application log group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        agent_image_uri: str,
        execution_role: iam.IRole,
        endpoint_name: str,
        report_bucket: s3.IBucket,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        runtime_cfg = config.runtime
        removal = removal_policy(config)

        # /aws/vendedlogs/ in the same account: delivery needs no resource policy.
        self.log_group = logs.LogGroup(
            self,
            "ApplicationLogs",
            log_group_name=f"/aws/vendedlogs/bedrock-agentcore/{config.runtime_name}",
            retention=log_retention(config.logs.retention_days),
            removal_policy=removal,
        )
        self.runtime = agentcore.Runtime(
            self,
            "Runtime",
            runtime_name=config.runtime_name,
            description=f"Stock-analysis agent ({config.stage}) on gpt-oss-20b",
            agent_runtime_artifact=agentcore.AgentRuntimeArtifact.from_image_uri(agent_image_uri),
            execution_role=_immutable(execution_role),
            environment_variables=runtime_environment(
                config, endpoint_name=endpoint_name, report_bucket_name=report_bucket.bucket_name
            ),
            lifecycle_configuration=agentcore.LifecycleConfiguration(
                idle_runtime_session_timeout=Duration.seconds(
                    runtime_cfg.idle_session_timeout_seconds
                ),
                max_lifetime=Duration.seconds(runtime_cfg.max_lifetime_seconds),
            ),
            authorizer_configuration=_authorizer(config),
            logging_configs=[
                agentcore.LoggingConfig(
                    log_type=agentcore.LogType.APPLICATION_LOGS,
                    destination=agentcore.LoggingDestination.cloud_watch_logs(self.log_group),
                )
            ],
            manage_delivery_resource_policy=False,
            tracing_enabled=config.operations.tracing,
        )
        # The image URI is a token (the Images stack's asset, built at deploy
        # time), so the L2 cannot check its form at synth; it is well formed by
        # construction (an ECR asset URI in the same account and region).
        Annotations.of(self.runtime).acknowledge_info(
            "aws-cdk-lib.aws-bedrockagentcore:containerUriValidationSkipped",
            "image URI is the Images stack's ECR asset, a token until deploy",
        )
        if config.operations.tracing:
            # Without managed delivery policies the L2 adds no X-Ray resource policy.
            self.trace_delivery_policy = allow_trace_delivery(
                self, "TraceDeliveryPolicy", runtime=self.runtime
            )
        self.runtime_endpoint = self.runtime.add_endpoint(
            runtime_cfg.endpoint_name,
            description=f"Stable endpoint of the {config.stage} agent (latest version)",
        )

        CfnOutput(self, "RuntimeArn", value=self.runtime.agent_runtime_arn)
        CfnOutput(self, "RuntimeEndpointName", value=runtime_cfg.endpoint_name)
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
                    f" --qualifier {runtime_cfg.endpoint_name}",
                    ' --runtime-session-id "$(uuidgen)"',
                    " --content-type application/json",
                    f" --payload '{EXAMPLE_PAYLOAD}'",
                    " --cli-binary-format raw-in-base64-out response.json",
                ],
            ),
        )


def _immutable(role: iam.IRole) -> iam.IRole:
    """A view of ``role`` to which constructs cannot add statements."""
    if isinstance(role, iam.Role):
        return role.without_policy_updates()
    return role
