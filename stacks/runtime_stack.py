"""Runtime: the stock-analysis agent on Amazon Bedrock AgentCore Runtime.

The resources are one :class:`~stacks.constructs.agent_runtime.AgentRuntime`;
this stack gives it the stage's settings and the agent's environment
contract, and prints the outputs. In short:

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

from aws_cdk import Aws, CfnOutput, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.common import log_retention
from stacks.config import StageConfig
from stacks.constructs.agent_runtime import AgentRuntime

# Payload accepted by the agent entrypoint, used in the printed invoke command.
EXAMPLE_PAYLOAD = '{"prompt": "Analyze SIM_STOCK for investment purposes"}'


def runtime_environment(
    config: StageConfig, *, endpoint_name: str, report_bucket_name: str
) -> dict[str, str]:
    """Environment of the agent container (the names ``stock_agent.context`` reads)."""
    runtime = config.runtime
    return {
        "MODEL_PROVIDER": "sagemaker",
        "SAGEMAKER_ENDPOINT_NAME": endpoint_name,
        "SAGEMAKER_INFERENCE_COMPONENT": config.inference_component_name,
        "REPORT_BUCKET": report_bucket_name,
        "LOG_LEVEL": runtime.log_level,
        "REQUEST_DEADLINE_SECONDS": str(runtime.request_deadline_seconds),
        "MODEL_COLD_START_WAIT_SECONDS": str(runtime.model_cold_start_wait_seconds),
        # Dimension of the agent's EMF metrics (docs/operations.md, metric contract).
        "STAGE": config.stage,
    }


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
        # "Default" keeps the construct out of the logical IDs (CDK hides that id),
        # so moving the resources into it replaced nothing.
        self.agent_runtime = AgentRuntime(
            self,
            "Default",
            runtime_name=config.runtime_name,
            description=f"Stock-analysis agent ({config.stage}) on gpt-oss-20b",
            image_uri=agent_image_uri,
            execution_role=execution_role,
            environment=runtime_environment(
                config, endpoint_name=endpoint_name, report_bucket_name=report_bucket.bucket_name
            ),
            idle_session_timeout_seconds=runtime_cfg.idle_session_timeout_seconds,
            max_lifetime_seconds=runtime_cfg.max_lifetime_seconds,
            jwt=runtime_cfg.jwt,
            endpoint_name=runtime_cfg.endpoint_name,
            endpoint_description=f"Stable endpoint of the {config.stage} agent (latest version)",
            log_retention=log_retention(config.logs.retention_days),
            encrypt_logs=config.logs.kms_encryption,
            tracing=config.operations.tracing,
        )
        self.runtime = self.agent_runtime.runtime
        self.log_group = self.agent_runtime.log_group

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
