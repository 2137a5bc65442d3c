"""Evaluation: AgentCore online evaluation of the runtime's endpoints (the eighth stack).

The live endpoint always; the canary endpoint too when there is one, with the
same evaluators, so the dashboard shows the two endpoints' scores side by side.


Deployed after the Runtime (its data source is the runtime's endpoint, found
through the runtime's SSM parameters so a replaced runtime can deploy) with the
execution role the IAM stack owns; it holds no data, so ``cdk destroy``
removes it cleanly before the runtime. The dashboard's score widgets are
added by the app builder from literals
(:mod:`stacks.constructs.evaluation_widgets`), so the Monitoring stack does
not depend on this one.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import EvaluationSettings
from stacks.constructs.online_evaluation import OnlineAgentEvaluation, load_rubric
from stacks.constructs.runtime_reference import RuntimeLookup, runtime_from_parameters


class EvaluationStack(Stack):
    """Built-in evaluators and our numeric-faithfulness / no-advice judge on sampled turns."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        evaluation: EvaluationSettings,
        runtime: RuntimeLookup,
        runtime_endpoint_name: str,
        execution_role: iam.IRole,
        canary_endpoint_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.evaluation = OnlineAgentEvaluation(
            self,
            "OnlineEvaluation",
            stage=stage,
            evaluation=evaluation,
            runtime=runtime_from_parameters(self, "Runtime", lookup=runtime),
            endpoint_name=runtime_endpoint_name,
            execution_role=execution_role,
            rubric=load_rubric(),
            canary_endpoint_name=canary_endpoint_name,
        )
        CfnOutput(
            self,
            "OnlineEvaluationConfigArn",
            value=self.evaluation.online.online_evaluation_config_arn,
        )
        CfnOutput(self, "CustomEvaluatorName", value=self.evaluation.custom_evaluator_name)
        if self.evaluation.canary_online is not None:
            CfnOutput(
                self,
                "CanaryOnlineEvaluationConfigArn",
                value=self.evaluation.canary_online.online_evaluation_config_arn,
            )
