"""The SageMaker training-job role: read the dataset prefix, write the output prefix.

Also pull the training image (the AWS Deep Learning Containers repository)
and write the jobs' logs and metrics. Exists only when a training bucket is
configured.
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import TrainingSettings

from .policy import (
    ECR_PULL_ACTIONS,
    acknowledge_wildcards,
    arn,
    log_statements,
    s3_arn,
    wildcard_statement,
)


class TrainingJobRole(iam.Role):
    """The role SageMaker training jobs run as (datasets in, adapters out)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        training: TrainingSettings,
    ) -> None:
        stack = Stack.of(scope)
        bucket_arn = s3_arn(stack, str(training.bucket))
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
                    stack.format_arn(
                        service="ecr",
                        account=training.image_account,
                        resource="repository",
                        resource_name=training.image_repository,
                    )
                ],
            ),
            wildcard_statement("EcrLogin", ["ecr:GetAuthorizationToken"]),
            *log_statements(stack, "TrainingJob", ["/aws/sagemaker/TrainingJobs"]),
            wildcard_statement(
                "PublishTrainingMetrics",
                ["cloudwatch:PutMetricData"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            ),
        ]
        super().__init__(
            scope,
            construct_id,
            description=f"SageMaker training jobs of {stage}: adapters for the "
            "narrative model (datasets in, adapters out)",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": arn(stack, "sagemaker", "training-job", "*")},
                },
            ),
            inline_policies={"training-job": iam.PolicyDocument(statements=statements)},
        )
        acknowledge_wildcards(self, statements)
