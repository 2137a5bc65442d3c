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

from aws_cdk import ArnFormat, Aws, CfnOutput, Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from stacks.config import StageConfig
from stacks.evaluation.config import EvaluationConfig, evaluation_config_for  # online evaluation
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
EVALUATION_METRICS_NAMESPACE = "Bedrock-AgentCore/Evaluations"  # online evaluation scores
SAGEMAKER_METRICS_NAMESPACE_PATTERN = "/aws/sagemaker/*"

ECR_PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
SAGEMAKER_INVOKE_ACTIONS = [
    "sagemaker:InvokeEndpoint",
    "sagemaker:InvokeEndpointWithResponseStream",
]


def _arn(
    stack: Stack,
    service: str,
    resource: str,
    name: str | None = None,
    *,
    separator: ArnFormat = ArnFormat.SLASH_RESOURCE_NAME,
) -> str:
    """``arn:<partition>:<service>:<region>:<account>:<resource><separator><name>``."""
    return stack.format_arn(
        service=service,
        resource=resource,
        resource_name=name,
        arn_format=separator if name is not None else ArnFormat.NO_RESOURCE_NAME,
    )


def _s3_arn(stack: Stack, bucket: str, key_pattern: str | None = None) -> str:
    """An S3 bucket (or object-pattern) ARN: S3 ARNs carry no region and no account."""
    return stack.format_arn(
        service="s3",
        region="",
        account="",
        resource=bucket,
        resource_name=key_pattern,
        arn_format=(
            ArnFormat.SLASH_RESOURCE_NAME if key_pattern is not None else ArnFormat.NO_RESOURCE_NAME
        ),
    )


def _wildcard_statement(sid: str, actions: list[str], **kwargs: Any) -> iam.PolicyStatement:
    unknown = [a for a in actions if a not in WILDCARD_RESOURCE_ACTIONS]
    if unknown:
        raise ValueError(f"{unknown} may not use Resource '*': not in WILDCARD_RESOURCE_ACTIONS")
    return iam.PolicyStatement(sid=sid, actions=actions, resources=["*"], **kwargs)


def _log_group_arn(stack: Stack, name: str) -> str:
    """``arn:<partition>:logs:<region>:<account>:log-group:<name>``."""
    return _arn(stack, "logs", "log-group", name, separator=ArnFormat.COLON_RESOURCE_NAME)


def _log_statements(
    stack: Stack, sid_prefix: str, log_group_names: list[str]
) -> list[iam.PolicyStatement]:
    groups = [_log_group_arn(stack, name) for name in log_group_names]
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


# Data-plane actions of the session checkpointer (see stock_agent/memory.py).
SESSION_MEMORY_ACTIONS = ["bedrock-agentcore:CreateEvent", "bedrock-agentcore:ListEvents"]


def _adapter_statements(stack: Stack, adapters: dict[str, str]) -> list[iam.PolicyStatement]:
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
                _s3_arn(stack, bucket, f"{prefix}*")
                for bucket, prefixes in sorted(by_bucket.items())
                for prefix in sorted(prefixes)
            ],
        ),
        *(
            iam.PolicyStatement(
                sid=f"ListAdapters{i}",
                actions=["s3:ListBucket"],
                resources=[_s3_arn(stack, bucket)],
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
        session_memory: agentcore.IMemory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.session_memory = session_memory
        self.config = config
        self.endpoint_arn = _arn(self, "sagemaker", "endpoint", config.endpoint_name.lower())
        self.inference_component_arn = _arn(
            self, "sagemaker", "inference-component", config.inference_component_name.lower()
        )
        self.sagemaker_role = self._sagemaker_role(model_repository)
        self.report_topic_arn = _arn(self, "sns", config.report_topic_name)
        self.runtime_role = self._runtime_role(agent_repository, report_bucket)
        self.watchlist_role: iam.Role | None = None
        if config.schedule.enabled:
            self.watchlist_role = self._watchlist_role()
            CfnOutput(self, "WatchlistScheduleRoleArn", value=self.watchlist_role.role_arn)
        CfnOutput(self, "SageMakerExecutionRoleArn", value=self.sagemaker_role.role_arn)
        CfnOutput(self, "RuntimeExecutionRoleArn", value=self.runtime_role.role_arn)
        # --- online evaluation (begin) ---
        self.evaluation_role = self._evaluation_role(evaluation_config_for(config.stage))
        CfnOutput(self, "EvaluationExecutionRoleArn", value=self.evaluation_role.role_arn)
        # --- online evaluation (end) ---
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
                self,
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
                    resources=[_s3_arn(self, bucket, f"{prefix}*")],
                ),
                iam.PolicyStatement(
                    sid="ListModelWeights",
                    actions=["s3:ListBucket"],
                    resources=[_s3_arn(self, bucket)],
                    conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
                ),
            ]
        # --- LoRA adapters: read only each adapter's own prefix ---
        statements += _adapter_statements(self, config.model.adapter_uris)
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
                    # The form SageMaker's confused-deputy guide prescribes for
                    # inference (not narrowed to one model or endpoint ARN).
                    "ArnLike": {"aws:SourceArn": _arn(self, "sagemaker", "*")},
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
            *_log_statements(
                self, "Runtime", [f"/aws/bedrock-agentcore/runtimes/{runtime_name}-*"]
            ),
            iam.PolicyStatement(
                sid="DescribeLogGroups",
                actions=["logs:DescribeLogGroups"],
                resources=[_log_group_arn(self, "*")],
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
                    _arn(self, "bedrock-agentcore", "workload-identity-directory", "default"),
                    _arn(
                        self,
                        "bedrock-agentcore",
                        "workload-identity-directory",
                        f"default/workload-identity/{runtime_name}-*",
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
        if config.schedule.enabled and config.schedule.notify:
            statements.append(
                iam.PolicyStatement(
                    sid="PublishRunNotifications",
                    actions=["sns:Publish"],
                    resources=[self.report_topic_arn],
                )
            )
        if self.session_memory is not None:
            # Exactly what AgentCoreMemorySaver (langgraph-checkpoint-aws) calls when the
            # agent reads and writes a session; DeleteEvent (delete_thread) is never used.
            statements.append(
                iam.PolicyStatement(
                    sid="SessionMemory",
                    actions=SESSION_MEMORY_ACTIONS,
                    resources=[self.session_memory.memory_arn],
                )
            )
        role = iam.Role(
            self,
            "RuntimeExecutionRole",
            description=f"AgentCore runtime execution role of {runtime_name}",
            assumed_by=iam.ServicePrincipal(
                "bedrock-agentcore.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": _arn(
                            self, "bedrock-agentcore", "runtime", f"{runtime_name}-*"
                        )
                    },
                },
            ),
            inline_policies={"agentcore-runtime": iam.PolicyDocument(statements=statements)},
        )
        self._acknowledge_wildcards(role, statements)
        return role

    # -- EventBridge Scheduler (watchlist reports) -----------------------------------
    def _watchlist_role(self) -> iam.Role:
        """Allowed exactly one thing: invoke this stage's runtime endpoint (plus its DLQ)."""
        config = self.config
        runtime = _arn(self, "bedrock-agentcore", "runtime", f"{config.runtime_name}-*")
        statements = [
            iam.PolicyStatement(
                sid="InvokeAgentRuntime",
                actions=["bedrock-agentcore:InvokeAgentRuntime"],
                resources=[
                    runtime,
                    f"{runtime}/runtime-endpoint/{config.runtime.endpoint_name}",
                ],
            ),
            iam.PolicyStatement(
                sid="DeadLetter",
                actions=["sqs:SendMessage"],
                resources=[_arn(self, "sqs", config.watchlist_dead_letter_queue_name)],
            ),
        ]
        schedule_arn = _arn(
            self, "scheduler", "schedule", f"default/{config.watchlist_schedule_name}"
        )
        role = iam.Role(
            self,
            "WatchlistScheduleRole",
            description=f"EventBridge Scheduler role of {config.watchlist_schedule_name}",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnEquals": {"aws:SourceArn": schedule_arn},
                },
            ),
            inline_policies={"watchlist-schedule": iam.PolicyDocument(statements=statements)},
        )
        self._acknowledge_wildcards(role, statements)
        return role

    # -- SageMaker training jobs (adapters) ---------------------------------------------
    def _training_role(self) -> iam.Role:
        """Read the dataset prefix, write the output prefix, pull the image, write logs."""
        training = self.config.training
        bucket_arn = _s3_arn(self, str(training.bucket))
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
                    self.format_arn(
                        service="ecr",
                        account=training.image_account,
                        resource="repository",
                        resource_name=training.image_repository,
                    )
                ],
            ),
            _wildcard_statement("EcrLogin", ["ecr:GetAuthorizationToken"]),
            *_log_statements(self, "TrainingJob", ["/aws/sagemaker/TrainingJobs"]),
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
                    "ArnLike": {"aws:SourceArn": _arn(self, "sagemaker", "training-job", "*")},
                },
            ),
            inline_policies={"training-job": iam.PolicyDocument(statements=statements)},
        )
        self._acknowledge_wildcards(role, statements)
        return role

    # --- online evaluation (begin) ---
    def _evaluation_role(self, evaluation: EvaluationConfig) -> iam.Role:
        """The role AgentCore Evaluations assumes to score the runtime's sampled traces.

        It reads the runtime's logs and the ``aws/spans`` group (Transaction
        Search), keeps that group's index policy, writes results under
        ``/aws/bedrock-agentcore/evaluations/``, publishes scores to their
        namespace, and invokes the one judge model of the custom evaluator.
        """
        runtime_name = self.config.runtime_name
        read_groups = [_log_group_arn(self, f"/aws/bedrock-agentcore/runtimes/{runtime_name}-*")]
        spans = _log_group_arn(self, "aws/spans")
        results = _log_group_arn(self, "/aws/bedrock-agentcore/evaluations/*")
        judge = [
            self.format_arn(
                service="bedrock",
                region="*",
                account="",
                resource="foundation-model",
                resource_name=evaluation.judge_foundation_model,
            )
        ]
        if evaluation.judge_is_inference_profile:
            judge.append(_arn(self, "bedrock", "inference-profile", evaluation.judge_model_id))
        statements = [
            iam.PolicyStatement(
                sid="DescribeLogGroups",
                actions=["logs:DescribeLogGroups"],
                resources=[_log_group_arn(self, "*")],
            ),
            iam.PolicyStatement(
                sid="QueryTraces",
                actions=["logs:StartQuery", "logs:GetQueryResults"],
                resources=[*read_groups, spans, f"{spans}:*", *(f"{g}:*" for g in read_groups)],
            ),
            iam.PolicyStatement(
                sid="SpansIndexPolicy",
                actions=["logs:DescribeIndexPolicies", "logs:PutIndexPolicy"],
                resources=[spans, f"{spans}:*"],
            ),
            iam.PolicyStatement(
                sid="WriteResults",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[results, f"{results}:*"],
            ),
            _wildcard_statement(
                "PublishScores",
                ["cloudwatch:PutMetricData"],
                conditions={"StringEquals": {"cloudwatch:namespace": EVALUATION_METRICS_NAMESPACE}},
            ),
            iam.PolicyStatement(
                sid="InvokeJudgeModel",
                actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                resources=judge,
            ),
        ]
        role = iam.Role(
            self,
            "EvaluationExecutionRole",
            description=f"AgentCore online evaluation of {runtime_name} (trace reads, judge model)",
            assumed_by=iam.ServicePrincipal(
                "bedrock-agentcore.amazonaws.com",
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": Aws.ACCOUNT_ID,
                        "aws:ResourceAccount": Aws.ACCOUNT_ID,
                    },
                    "ArnLike": {
                        "aws:SourceArn": [
                            _arn(self, "bedrock-agentcore", "evaluator", "*"),
                            _arn(self, "bedrock-agentcore", "online-evaluation-config", "*"),
                        ]
                    },
                },
            ),
            inline_policies={"agentcore-evaluation": iam.PolicyDocument(statements=statements)},
        )
        self._acknowledge_wildcards(role, statements)
        return role

    # --- online evaluation (end) ---

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
