"""IAM: the SageMaker execution role and the AgentCore runtime execution role.

This stack is the one place a security reviewer reads: every statement of
both roles is written here, as inline policies with stable names, and the
other stacks receive the roles as objects they cannot add statements to
(the runtime stack passes an immutable view to the AgentCore L2, whose
``addExecutionRolePermissions`` would otherwise append its own broader
statements).

Resource scoping:

* ARNs of the endpoint, inference component and runtime are built from
  the deterministic names in :class:`~stacks.config.StageConfig`, so this
  stack does not depend on the model or runtime stacks (no cycle).
* ECR pull is scoped to the repository holding the image (the CDK
  container-assets repository); ECR has no tag- or digest-level IAM, and
  the image itself is pinned by its content-hash tag in the model and the
  runtime.
* ``Resource: "*"`` appears only for the actions in
  :data:`WILDCARD_RESOURCE_ACTIONS`, each with the reason; the tests read
  that dict and fail on any other wildcard.
* Trust policies carry ``aws:SourceAccount`` and ``aws:SourceArn``
  (confused-deputy protection).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from stacks.config import StageConfig
from stacks.nag import acknowledge

# The only actions allowed on Resource "*": AWS documents no resource-level
# permissions for them (Service Authorization Reference). Single source of
# truth for the code below, the nag acknowledgments and the tests.
WILDCARD_RESOURCE_ACTIONS: dict[str, str] = {
    "ecr:GetAuthorizationToken": "returns a registry login token; it has no resource type, "
    "the pull itself is scoped to the repository",
    "xray:PutTraceSegments": "X-Ray trace ingestion has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray telemetry ingestion has no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray sampling rules have no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray sampling targets have no resource-level permissions",
    "cloudwatch:PutMetricData": "metrics have no ARN; the statement is limited by the "
    "cloudwatch:namespace condition instead",
}

# Namespaces each role may publish metrics to (the condition that replaces an ARN).
RUNTIME_METRICS_NAMESPACE = "bedrock-agentcore"
SAGEMAKER_METRICS_NAMESPACE_PATTERN = "/aws/sagemaker/*"

ECR_PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
SAGEMAKER_INVOKE_ACTIONS = [
    "sagemaker:InvokeEndpoint",
    "sagemaker:InvokeEndpointWithResponseStream",
]


def _arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
    return (
        f"arn:{Aws.PARTITION}:{service}:{Aws.REGION if region else ''}:"
        f"{Aws.ACCOUNT_ID if account else ''}:{resource}"
    )


def _wildcard_statement(sid: str, actions: list[str], **kwargs: Any) -> iam.PolicyStatement:
    unknown = [a for a in actions if a not in WILDCARD_RESOURCE_ACTIONS]
    if unknown:
        raise ValueError(f"{unknown} may not use Resource '*': not in WILDCARD_RESOURCE_ACTIONS")
    return iam.PolicyStatement(sid=sid, actions=actions, resources=["*"], **kwargs)


def _log_statements(sid_prefix: str, log_group_names: list[str]) -> list[iam.PolicyStatement]:
    groups = [_arn("logs", f"log-group:{name}") for name in log_group_names]
    return [
        iam.PolicyStatement(
            sid=f"{sid_prefix}LogGroups",
            actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
            resources=groups,
        ),
        iam.PolicyStatement(
            sid=f"{sid_prefix}LogStreams",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[f"{group}:log-stream:*" for group in groups],
        ),
    ]


def _adapter_statements(adapters: dict[str, str]) -> list[iam.PolicyStatement]:
    """s3:GetObject on each adapter's folder and s3:ListBucket limited to those folders."""
    if not adapters:
        return []
    by_bucket: dict[str, list[str]] = {}
    for uri in adapters.values():
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        by_bucket.setdefault(bucket, []).append(prefix)
    return [
        iam.PolicyStatement(
            sid="ReadAdapters",
            actions=["s3:GetObject"],
            resources=[
                f"arn:{Aws.PARTITION}:s3:::{bucket}/{prefix}*"
                for bucket, prefixes in sorted(by_bucket.items())
                for prefix in sorted(prefixes)
            ],
        ),
        *(
            iam.PolicyStatement(
                sid=f"ListAdapters{i}",
                actions=["s3:ListBucket"],
                resources=[f"arn:{Aws.PARTITION}:s3:::{bucket}"],
                conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in sorted(prefixes)]}},
            )
            for i, (bucket, prefixes) in enumerate(sorted(by_bucket.items()))
        ),
    ]


class IamStack(Stack):
    """Both execution roles, with every statement they get, and nothing else."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        model_repository: ecr.IRepository,
        agent_repository: ecr.IRepository,
        report_bucket: s3.IBucket,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.endpoint_arn = _arn("sagemaker", f"endpoint/{config.endpoint_name.lower()}")
        self.inference_component_arn = _arn(
            "sagemaker", f"inference-component/{config.inference_component_name.lower()}"
        )
        self.sagemaker_role = self._sagemaker_role(model_repository)
        self.runtime_role = self._runtime_role(agent_repository, report_bucket)
        CfnOutput(self, "SageMakerExecutionRoleArn", value=self.sagemaker_role.role_arn)
        CfnOutput(self, "RuntimeExecutionRoleArn", value=self.runtime_role.role_arn)
        # --- training jobs: their own role, only when a training bucket is configured ---
        self.training_role = self._training_role() if config.training.bucket else None
        if self.training_role is not None:
            CfnOutput(self, "TrainingJobRoleArn", value=self.training_role.role_arn)
        # --- end training jobs ---

    # -- SageMaker -------------------------------------------------------------------
    def _sagemaker_role(self, repository: ecr.IRepository) -> iam.Role:
        config = self.config
        statements = [
            iam.PolicyStatement(
                sid="PullModelImage",
                actions=ECR_PULL_ACTIONS,
                resources=[repository.repository_arn],
            ),
            _wildcard_statement("EcrLogin", ["ecr:GetAuthorizationToken"]),
            *_log_statements(
                "Endpoint",
                [
                    f"/aws/sagemaker/Endpoints/{config.endpoint_name}",
                    f"/aws/sagemaker/InferenceComponents/{config.inference_component_name}",
                ],
            ),
            _wildcard_statement(
                "PublishModelMetrics",
                ["cloudwatch:PutMetricData"],
                conditions={
                    "StringLike": {"cloudwatch:namespace": SAGEMAKER_METRICS_NAMESPACE_PATTERN}
                },
            ),
        ]
        bucket, prefix = config.model.weights_bucket, config.model.weights_prefix
        if bucket is not None and prefix is not None:
            statements += [
                iam.PolicyStatement(
                    sid="ReadModelWeights",
                    actions=["s3:GetObject"],
                    resources=[f"arn:{Aws.PARTITION}:s3:::{bucket}/{prefix}*"],
                ),
                iam.PolicyStatement(
                    sid="ListModelWeights",
                    actions=["s3:ListBucket"],
                    resources=[f"arn:{Aws.PARTITION}:s3:::{bucket}"],
                    conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
                ),
            ]
        # --- LoRA adapters: read only each adapter's own prefix ---
        statements += _adapter_statements(config.model.adapter_uris)
        # --- end LoRA adapters ---
        role = iam.Role(
            self,
            "SageMakerExecutionRole",
            description=f"SageMaker execution role of {config.endpoint_name} "
            "(model image pull, endpoint logs, model weights)",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": _arn("sagemaker", "*")},
                },
            ),
            inline_policies={"sagemaker-hosting": iam.PolicyDocument(statements=statements)},
        )
        self._acknowledge_wildcards(role, statements)
        return role

    # -- AgentCore runtime -----------------------------------------------------------
    def _runtime_role(self, repository: ecr.IRepository, bucket: s3.IBucket) -> iam.Role:
        config = self.config
        runtime_name = config.runtime_name
        report_actions = ["s3:PutObject"]
        if config.storage.presigned_links:
            report_actions.append("s3:GetObject")
        statements = [
            iam.PolicyStatement(
                sid="PullAgentImage",
                actions=ECR_PULL_ACTIONS,
                resources=[repository.repository_arn],
            ),
            _wildcard_statement("EcrLogin", ["ecr:GetAuthorizationToken"]),
            *_log_statements("Runtime", [f"/aws/bedrock-agentcore/runtimes/{runtime_name}-*"]),
            iam.PolicyStatement(
                sid="DescribeLogGroups",
                actions=["logs:DescribeLogGroups"],
                resources=[_arn("logs", "log-group:*")],
            ),
            _wildcard_statement(
                "XRay",
                [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
            ),
            _wildcard_statement(
                "PublishRuntimeMetrics",
                ["cloudwatch:PutMetricData"],
                conditions={"StringEquals": {"cloudwatch:namespace": RUNTIME_METRICS_NAMESPACE}},
            ),
            iam.PolicyStatement(
                sid="WorkloadAccessToken",
                actions=[
                    "bedrock-agentcore:GetWorkloadAccessToken",
                    "bedrock-agentcore:GetWorkloadAccessTokenForJWT",
                    "bedrock-agentcore:GetWorkloadAccessTokenForUserId",
                ],
                resources=[
                    _arn("bedrock-agentcore", "workload-identity-directory/default"),
                    _arn(
                        "bedrock-agentcore",
                        f"workload-identity-directory/default/workload-identity/{runtime_name}-*",
                    ),
                ],
            ),
            iam.PolicyStatement(
                sid="InvokeModel",
                actions=SAGEMAKER_INVOKE_ACTIONS,
                resources=[self.endpoint_arn, self.inference_component_arn],
            ),
            iam.PolicyStatement(
                sid="WriteReports",
                actions=report_actions,
                resources=[f"{self._imported(bucket.bucket_arn, owner=bucket)}/*"],
            ),
        ]
        role = iam.Role(
            self,
            "RuntimeExecutionRole",
            description=f"AgentCore runtime execution role of {runtime_name}",
            assumed_by=iam.ServicePrincipal(
                "bedrock-agentcore.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": _arn("bedrock-agentcore", f"runtime/{runtime_name}-*")
                    },
                },
            ),
            inline_policies={"agentcore-runtime": iam.PolicyDocument(statements=statements)},
        )
        self._acknowledge_wildcards(role, statements)
        return role

    # -- SageMaker training jobs (adapters) ---------------------------------------------
    def _training_role(self) -> iam.Role:
        """Read the dataset prefix, write the output prefix, pull the image, write logs."""
        training = self.config.training
        bucket_arn = f"arn:{Aws.PARTITION}:s3:::{training.bucket}"
        data, output = training.datasets_prefix, training.output_prefix
        statements = [
            iam.PolicyStatement(
                sid="ReadDatasets",
                actions=["s3:GetObject"],
                resources=[f"{bucket_arn}/{data}*"],
            ),
            iam.PolicyStatement(
                sid="ListDatasetsAndOutput",
                actions=["s3:ListBucket"],
                resources=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{data}*", f"{output}*"]}},
            ),
            iam.PolicyStatement(
                # Write the adapter and checkpoints; read checkpoints and the code bundle back.
                sid="ReadWriteOutput",
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[f"{bucket_arn}/{output}*"],
            ),
            iam.PolicyStatement(
                sid="PullTrainingImage",
                actions=ECR_PULL_ACTIONS,
                resources=[
                    f"arn:{Aws.PARTITION}:ecr:{Aws.REGION}:{training.image_account}:"
                    f"repository/{training.image_repository}"
                ],
            ),
            _wildcard_statement("EcrLogin", ["ecr:GetAuthorizationToken"]),
            *_log_statements("TrainingJob", ["/aws/sagemaker/TrainingJobs"]),
            _wildcard_statement(
                "PublishTrainingMetrics",
                ["cloudwatch:PutMetricData"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            ),
        ]
        role = iam.Role(
            self,
            "TrainingJobRole",
            description=f"SageMaker training jobs of {self.config.stage}: adapters for the "
            "narrative model (datasets in, adapters out)",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": _arn("sagemaker", "training-job/*")},
                },
            ),
            inline_policies={"training-job": iam.PolicyDocument(statements=statements)},
        )
        self._acknowledge_wildcards(role, statements)
        return role

    def _imported(self, value: str, *, owner: IConstruct) -> str:
        """``value`` as an explicit ``Fn::ImportValue`` when ``owner`` is another stack.

        The export is the one CDK would create implicitly; making it explicit
        here lets the nag acknowledgment name the finding exactly at
        construction time.
        """
        owner_stack = Stack.of(owner)
        return value if owner_stack is Stack.of(self) else owner_stack.export_value(value)

    def _acknowledge_wildcards(self, role: iam.Role, statements: list[iam.PolicyStatement]) -> None:
        """Acknowledge AwsSolutions-IAM5 once per wildcard action/resource, with its reason."""
        stack = Stack.of(self)
        wildcard_actions: list[str] = []
        for statement in statements:
            resolved = stack.resolve(statement.to_statement_json())
            resources = resolved.get("Resource", [])
            for resource in resources if isinstance(resources, list) else [resources]:
                if resource == "*":
                    wildcard_actions += statement.actions
                elif "*" in str(resource):
                    acknowledge(
                        role,
                        finding=f"AwsSolutions-IAM5[Resource::{_nag_arn(resource)}]",
                        reason=f"statement {statement.sid}: a name prefix or all streams/objects "
                        "under one exact parent (log group, runtime id, bucket, weights prefix), "
                        "because the suffix is only known at run time",
                    )
        if wildcard_actions:
            acknowledge(
                role,
                finding="AwsSolutions-IAM5[Resource::*]",
                reason="; ".join(f"{a}: {WILDCARD_RESOURCE_ACTIONS[a]}" for a in wildcard_actions),
            )


def _nag_arn(resolved: Any) -> str:
    """Render a resolved ARN the way cdk-nag prints it in finding ids."""
    if isinstance(resolved, str):
        return resolved
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        sep, parts = resolved["Fn::Join"]
        return sep.join(_nag_arn(p) for p in parts)
    if isinstance(resolved, dict) and "Fn::ImportValue" in resolved:
        return str(resolved["Fn::ImportValue"])
    if isinstance(resolved, dict) and "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
        return "<{}.{}>".format(*resolved["Fn::GetAtt"])
    raise ValueError(f"cannot render {resolved!r} as a cdk-nag finding id")
