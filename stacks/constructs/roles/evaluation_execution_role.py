"""The role AgentCore Evaluations assumes to score the runtime's sampled traces.

It reads the runtime's logs and the ``aws/spans`` group (Transaction Search),
keeps both groups' index policies, writes results under
``/aws/bedrock-agentcore/evaluations/``, publishes scores to their namespace,
and invokes the one judge model of the custom evaluator. Trust and actions
follow the AgentCore Evaluations prerequisites page (service execution role).
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import EvaluationSettings
from stacks.constructs.judge_model import judge_geography, judge_model_id

from .policy import acknowledge_wildcards, arn, log_group_arn, wildcard_statement

EVALUATION_METRICS_NAMESPACE = "Bedrock-AgentCore/Evaluations"


class EvaluationExecutionRole(iam.Role):
    """The execution role of the online evaluation configuration and its judge."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime_name: str,
        evaluation: EvaluationSettings,
    ) -> None:
        stack = Stack.of(scope)
        read_groups = [log_group_arn(stack, f"/aws/bedrock-agentcore/runtimes/{runtime_name}-*")]
        spans = log_group_arn(stack, "aws/spans")
        results = log_group_arn(stack, "/aws/bedrock-agentcore/evaluations/*")
        # The profile in this region, and the model in every region the profile routes to.
        judge = [
            stack.format_arn(
                service="bedrock",
                region="*",
                account="",
                resource="foundation-model",
                resource_name=evaluation.judge_model,
            )
        ]
        if judge_geography(scope, evaluation) is not None:
            judge.append(
                arn(stack, "bedrock", "inference-profile", judge_model_id(scope, evaluation))
            )
        statements = [
            iam.PolicyStatement(
                sid="DescribeLogGroups",
                actions=["logs:DescribeLogGroups"],
                resources=[log_group_arn(stack, "*")],
            ),
            iam.PolicyStatement(
                sid="QueryTraces",
                actions=["logs:StartQuery", "logs:GetQueryResults"],
                resources=[*read_groups, spans, f"{spans}:*", *(f"{g}:*" for g in read_groups)],
            ),
            # The AgentCore Evaluations prerequisites name aws/spans; CreateOnlineEvaluationConfig
            # also checks the data source's own group (the runtime endpoint's), docs/reliability.md.
            iam.PolicyStatement(
                sid="TraceIndexPolicies",
                actions=["logs:DescribeIndexPolicies", "logs:PutIndexPolicy"],
                resources=[*read_groups, spans, f"{spans}:*"],
            ),
            iam.PolicyStatement(
                sid="WriteResults",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[results, f"{results}:*"],
            ),
            wildcard_statement(
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
        super().__init__(
            scope,
            construct_id,
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
                            arn(stack, "bedrock-agentcore", "evaluator", "*"),
                            arn(stack, "bedrock-agentcore", "online-evaluation-config", "*"),
                        ]
                    },
                },
            ),
            inline_policies={"agentcore-evaluation": iam.PolicyDocument(statements=statements)},
        )
        acknowledge_wildcards(self, statements)
