"""The SageMaker execution role: pull the model image, write endpoint logs, read weights.

Trust: ``sagemaker.amazonaws.com`` with ``aws:SourceAccount`` and the
``aws:SourceArn`` form SageMaker's confused-deputy guide prescribes for
inference (any SageMaker resource of the account and region, not narrowed to
one model or endpoint ARN).
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import ModelSettings

from .policy import (
    ECR_PULL_ACTIONS,
    acknowledge_wildcards,
    arn,
    log_statements,
    s3_arn,
    wildcard_statement,
)

SAGEMAKER_METRICS_NAMESPACE_PATTERN = "/aws/sagemaker/*"


class SageMakerExecutionRole(iam.Role):
    """The role the endpoint's model and inference component run as."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        inference_component_name: str,
        model: ModelSettings,
        repository: ecr.IRepository,
    ) -> None:
        stack = Stack.of(scope)
        statements = [
            iam.PolicyStatement(
                sid="PullModelImage",
                actions=ECR_PULL_ACTIONS,
                resources=[repository.repository_arn],
            ),
            wildcard_statement("EcrLogin", ["ecr:GetAuthorizationToken"]),
            *log_statements(
                stack,
                "Endpoint",
                [
                    f"/aws/sagemaker/Endpoints/{endpoint_name}",
                    f"/aws/sagemaker/InferenceComponents/{inference_component_name}",
                ],
            ),
            wildcard_statement(
                "PublishModelMetrics",
                ["cloudwatch:PutMetricData"],
                conditions={
                    "StringLike": {"cloudwatch:namespace": SAGEMAKER_METRICS_NAMESPACE_PATTERN}
                },
            ),
            *_weights_statements(stack, model),
            *adapter_statements(stack, model.adapter_uris),
        ]
        super().__init__(
            scope,
            construct_id,
            description=f"SageMaker execution role of {endpoint_name} "
            "(model image pull, endpoint logs, model weights)",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": arn(stack, "sagemaker", "*")},
                },
            ),
            inline_policies={"sagemaker-hosting": iam.PolicyDocument(statements=statements)},
        )
        acknowledge_wildcards(self, statements)


def _weights_statements(stack: Stack, model: ModelSettings) -> list[iam.PolicyStatement]:
    """s3:GetObject under the weights prefix, s3:ListBucket limited to it; none from the hub."""
    bucket, prefix = model.weights_bucket, model.weights_prefix
    if bucket is None or prefix is None:
        return []
    return [
        iam.PolicyStatement(
            sid="ReadModelWeights",
            actions=["s3:GetObject"],
            resources=[s3_arn(stack, bucket, f"{prefix}*")],
        ),
        iam.PolicyStatement(
            sid="ListModelWeights",
            actions=["s3:ListBucket"],
            resources=[s3_arn(stack, bucket)],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        ),
    ]


def adapter_statements(stack: Stack, adapters: dict[str, str]) -> list[iam.PolicyStatement]:
    """s3:GetObject on each LoRA adapter's folder, s3:ListBucket limited to those folders."""
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
                s3_arn(stack, bucket, f"{prefix}*")
                for bucket, prefixes in sorted(by_bucket.items())
                for prefix in sorted(prefixes)
            ],
        ),
        *(
            iam.PolicyStatement(
                sid=f"ListAdapters{i}",
                actions=["s3:ListBucket"],
                resources=[s3_arn(stack, bucket)],
                conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in sorted(prefixes)]}},
            )
            for i, (bucket, prefixes) in enumerate(sorted(by_bucket.items()))
        ),
    ]
