"""An AgentCore runtime of the agent's image: the agent itself, or the MCP tools' server.

Uses the stable L2 ``aws_cdk.aws_bedrockagentcore.Runtime`` with:

* the arm64 agent image (by URI: no grants added);
* the execution role from the IAM stack, passed as an immutable view so the
  L2's ``addExecutionRolePermissions`` cannot append statements (they all
  live in the IAM stack);
* the environment it is given (no secrets: names, numbers and levels);
* lifecycle configuration (idle timeout, max lifetime) and a named runtime
  endpoint on the latest version, or on the version it is pinned to; with a
  canary, a second named endpoint on the latest (or its pinned) version, so a
  new version (an adapter, an image) is served beside the pinned live one;
* application logs delivered to a ``/aws/vendedlogs/`` log group with
  explicit retention (and a KMS key when asked), and the named endpoint's own
  service log group created by the stack with the same retention and key;
* X-Ray tracing, with the resource policy the delivery needs and the
  delivery ordered after it;
* inbound auth: IAM (SigV4) unless a JWT authorizer is given;
* the protocol: HTTP (the agent's contract) unless another is given (MCP for
  the tools' server).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jsii
from aws_cdk import Annotations, Duration, IStableStringProducer, Lazy, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import JwtSettings
from stacks.constructs.log_groups import LogGroupSpec, ServiceLogGroups
from stacks.constructs.trace_delivery import allow_trace_delivery

# The service's own log groups: <prefix><runtime id>-<endpoint name>.
SERVICE_LOG_GROUP_PREFIX = "/aws/bedrock-agentcore/runtimes/"
ENDPOINT_LOG_GROUP_LOGICAL_ID = "RuntimeEndpointLogs"
CANARY_LOG_GROUP_LOGICAL_ID = "CanaryEndpointLogs"


class AgentRuntime(Construct):
    """The AgentCore runtime, its named endpoint, its log group and trace delivery."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime_name: str,
        description: str,
        image_uri: str,
        execution_role: iam.IRole,
        environment: Mapping[str, str],
        idle_session_timeout_seconds: int,
        max_lifetime_seconds: int,
        jwt: JwtSettings | None,
        endpoint_name: str,
        endpoint_description: str,
        live_version: int | None = None,
        canary_endpoint_name: str | None = None,
        canary_version: int | None = None,
        log_retention: logs.RetentionDays,
        encrypt_logs: bool,
        tracing: bool,
        delivery_name_prefix: str | None,
        protocol: agentcore.ProtocolType | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Log delivery into a group still needs a CloudWatch Logs resource policy
        # for delivery.logs.amazonaws.com; the delivery creates or extends the
        # account's policy when it is set up. The /aws/vendedlogs/ prefix lets
        # that one policy cover every such group with a wildcard, so it does not
        # grow by one ARN per log group towards the policy size limit.
        #
        # AgentCore writes the endpoint's own logs (stdout, OTEL logs) to
        # /aws/bedrock-agentcore/runtimes/<runtime id>-<endpoint>; created here, after the
        # runtime (its id) and before the endpoint, it gets retention, the key, and removal
        # with the stack instead of a group the service makes with none of them.
        groups = {
            "ApplicationLogs": LogGroupSpec(
                name=f"/aws/vendedlogs/bedrock-agentcore/{runtime_name}",
                logical_id="ApplicationLogsAF17AEF2",
            ),
            "EndpointLogs": LogGroupSpec(
                name=self._endpoint_log_group_name(endpoint_name),
                logical_id=ENDPOINT_LOG_GROUP_LOGICAL_ID,
            ),
        }
        if canary_endpoint_name is not None:
            groups["CanaryEndpointLogs"] = LogGroupSpec(
                name=self._endpoint_log_group_name(canary_endpoint_name),
                logical_id=CANARY_LOG_GROUP_LOGICAL_ID,
            )
        self.log_groups = ServiceLogGroups(
            self,
            "LogGroups",
            groups=groups,
            retention=log_retention,
            encrypt=encrypt_logs,
            purpose=f"the {runtime_name} runtime",
        )
        self.log_group = self.log_groups.groups["ApplicationLogs"]
        self.endpoint_log_group = self.log_groups.groups["EndpointLogs"]
        self.runtime = agentcore.Runtime(
            self,
            "Runtime",
            runtime_name=runtime_name,
            description=description,
            agent_runtime_artifact=agentcore.AgentRuntimeArtifact.from_image_uri(image_uri),
            execution_role=immutable_role(execution_role),
            environment_variables=dict(environment),
            lifecycle_configuration=agentcore.LifecycleConfiguration(
                idle_runtime_session_timeout=Duration.seconds(idle_session_timeout_seconds),
                max_lifetime=Duration.seconds(max_lifetime_seconds),
            ),
            authorizer_configuration=_authorizer(jwt),
            # The verified JWT reaches the container only through the allowlist; its sub
            # claim is the actor of the caller's sessions (stock_agent/memory/checkpoints.py).
            request_header_configuration=(
                agentcore.RequestHeaderConfiguration(allowlisted_headers=["Authorization"])
                if jwt is not None
                else None
            ),
            logging_configs=[
                agentcore.LoggingConfig(
                    log_type=agentcore.LogType.APPLICATION_LOGS,
                    destination=agentcore.LoggingDestination.cloud_watch_logs(self.log_group),
                )
            ],
            manage_delivery_resource_policy=False,
            tracing_enabled=tracing,
            # None: the L2's default, HTTP (the agent); MCP for the tools' server.
            protocol_configuration=protocol,
        )
        # The image URI is a token (the Images stack's asset, built at deploy
        # time), so the L2 cannot check its form at synth; it is well formed by
        # construction (an ECR asset URI in the same account and region).
        Annotations.of(self.runtime).acknowledge_info(
            "aws-cdk-lib.aws-bedrockagentcore:containerUriValidationSkipped",
            "image URI is the Images stack's ECR asset, a token until deploy",
        )
        if tracing:
            # Without managed delivery policies the L2 adds no X-Ray resource policy.
            self.trace_delivery_policy = allow_trace_delivery(
                self, "TraceDeliveryPolicy", runtime=self.runtime
            )
            # The delivery must not start before X-Ray accepts its segments.
            for delivery in _trace_deliveries(self.runtime):
                delivery.add_resource_dependency(self.trace_delivery_policy)
        if delivery_name_prefix is not None:
            _name_deliveries(self.runtime, delivery_name_prefix)
        # Without a version the L2 uses the runtime's latest (Fn::GetAtt AgentRuntimeVersion).
        self.runtime_endpoint = self.runtime.add_endpoint(
            endpoint_name,
            description=endpoint_description,
            version=None if live_version is None else str(live_version),
        )
        # The group exists before the endpoint can write to it.
        self.runtime_endpoint.node.add_dependency(self.endpoint_log_group)
        self.canary_endpoint: agentcore.RuntimeEndpoint | None = None
        if canary_endpoint_name is not None:
            self.canary_endpoint = self.runtime.add_endpoint(
                canary_endpoint_name,
                description=(
                    f"Canary of {runtime_name}: "
                    + (
                        "the latest version"
                        if canary_version is None
                        else f"version {canary_version}"
                    )
                    + f", evaluated beside {endpoint_name}"
                ),
                version=None if canary_version is None else str(canary_version),
            )
            self.canary_endpoint.node.add_dependency(self.log_groups.groups["CanaryEndpointLogs"])

    def _endpoint_log_group_name(self, endpoint_name: str) -> str:
        """AgentCore's log group of a named endpoint; the runtime's id is read when it resolves."""
        return Lazy.string(
            _Later(
                lambda: f"{SERVICE_LOG_GROUP_PREFIX}{self.runtime.agent_runtime_id}-{endpoint_name}"
            )
        )


@jsii.implements(IStableStringProducer)
class _Later:
    """A string computed when CDK resolves it (the runtime's id, once the runtime exists)."""

    def __init__(self, produce: Callable[[], str]) -> None:
        self._produce = produce

    def produce(self) -> str:
        return self._produce()


def _authorizer(jwt: JwtSettings | None) -> agentcore.RuntimeAuthorizerConfiguration | None:
    if jwt is None:
        return None  # the L2 default: IAM (SigV4)
    return agentcore.RuntimeAuthorizerConfiguration.using_jwt(
        jwt.discovery_url,
        list(jwt.allowed_clients) or None,
        list(jwt.allowed_audience) or None,
    )


def _trace_deliveries(runtime: agentcore.Runtime) -> list[logs.CfnDelivery]:
    """The L2's X-Ray trace deliveries (deliveries whose destination is of type XRAY)."""
    stack = Stack.of(runtime)
    children = runtime.node.find_all()
    xray_destinations = [
        stack.resolve(child.attr_arn)
        for child in children
        if isinstance(child, logs.CfnDeliveryDestination)
        and child.delivery_destination_type == "XRAY"
    ]
    found = [
        child
        for child in children
        if isinstance(child, logs.CfnDelivery)
        and stack.resolve(child.delivery_destination_arn) in xray_destinations
    ]
    if not found:
        raise RuntimeError("tracing is on but the runtime L2 created no trace delivery")
    return found


# Suffixes of the delivery resources' names: a runtime name has at most 48 characters and
# a delivery source or destination name at most 60.
DELIVERY_NAME_SUFFIXES = {
    ("SOURCE", "APPLICATION_LOGS"): "-logs",
    ("SOURCE", "TRACES"): "-traces",
    ("DESTINATION", "CWL"): "-logs-dst",
    ("DESTINATION", "XRAY"): "-traces-dst",
}


def _name_deliveries(runtime: agentcore.Runtime, prefix: str) -> None:
    """Name the L2's delivery sources and destinations after the runtime.

    Their names are create-only, and a destination's target is too; the L2's
    generated names stay the same when the runtime is renamed, so a renamed
    runtime's new destination (its log group is renamed with it) would be
    created under the name the old one still holds. Named after the runtime,
    the replacements never meet the names they replace.
    """
    for child in runtime.node.find_all():
        if isinstance(child, logs.CfnDeliverySource):
            child.name = prefix + DELIVERY_NAME_SUFFIXES[("SOURCE", str(child.log_type))]
        elif isinstance(child, logs.CfnDeliveryDestination):
            kind = str(child.delivery_destination_type)
            child.name = prefix + DELIVERY_NAME_SUFFIXES[("DESTINATION", kind)]


def immutable_role(role: iam.IRole) -> iam.IRole:
    """A view of ``role`` to which constructs cannot add statements."""
    if isinstance(role, iam.Role):
        return role.without_policy_updates()
    return role
