"""Monitoring: autoscaling, alarms and the dashboard of a stage.

Deployed after Model and Runtime because everything here points at them:
the scalable target at the inference component, the alarms and graphs at
the endpoint's and the runtime's metrics (the runtime found through its SSM
parameters, :mod:`stacks.constructs.runtime_reference`, so a replaced runtime
can deploy). It holds no data, so ``cdk
destroy`` removes it first and completely (the alarm key is scheduled for
deletion); deregistering the scalable target before the Model stack goes
is what lets the inference component be deleted cleanly.

Autoscaling lives here rather than in the Model stack so the Model stack
stays a plain description of the endpoint, and scaling can be tuned and
redeployed without touching the endpoint (a Model stack update would
replace the endpoint config).
"""

from __future__ import annotations

import logging
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import PROJECT, ConfigError, OperationsConfig
from stacks.constructs.alarms import AlarmTopic, OperationsAlarms
from stacks.constructs.autoscaling import InferenceComponentAutoscaling
from stacks.constructs.dashboard import OperationsDashboard
from stacks.constructs.endpoint_comparison import runtime_comparison_widgets
from stacks.constructs.runtime_reference import RuntimeLookup, runtime_from_parameters
from stacks.metrics import AgentMetrics, ModelMetrics, RuntimeMetrics

logger = logging.getLogger(__name__)


def dashboard_name_for(stage: str) -> str:
    """The dashboard's name: one per stage, readable in the console list."""
    return f"{PROJECT}-{stage}"


class MonitoringStack(Stack):
    """Autoscaling of the model, paging alarms, and the stage dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        operations: OperationsConfig,
        inference_component: sagemaker.CfnInferenceComponent,
        endpoint_name: str,
        variant_name: str,
        runtime: RuntimeLookup,
        runtime_endpoint_name: str = "DEFAULT",
        canary_endpoint_name: str | None = None,
        min_instance_count: int,
        max_instance_count: int,
        accelerators_per_instance: int,
        accelerators_per_copy: int = 1,
        watchlist_dead_letter_queue: sqs.IQueue | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        component_name = inference_component.inference_component_name
        if not component_name:
            raise ConfigError(
                "inference_component.inference_component_name=None is invalid: expected the "
                "literal name the component is created with (autoscaling and metrics key on it)"
            )
        operations.autoscaling.check_endpoint(
            min_instance_count=min_instance_count,
            max_instance_count=max_instance_count,
            accelerators_per_instance=accelerators_per_instance,
            accelerators_per_copy=accelerators_per_copy,
        )

        model_metrics = ModelMetrics(
            endpoint_name=endpoint_name, variant_name=variant_name, component_name=component_name
        )
        runtime_reference = runtime_from_parameters(self, "Runtime", lookup=runtime)
        runtime_metrics = RuntimeMetrics(
            runtime=runtime_reference, endpoint_name=runtime_endpoint_name
        )
        agent_metrics = AgentMetrics(stage=stage)

        self.autoscaling = InferenceComponentAutoscaling(
            self,
            "Autoscaling",
            component=inference_component,
            component_name=component_name,
            model_metrics=model_metrics,
            config=operations.autoscaling,
        )
        self.alarm_topic = AlarmTopic(
            self, "AlarmTopic", stage=stage, email=operations.alarms.email
        )
        self.alarms = OperationsAlarms(
            self,
            "Alarms",
            config=operations.alarms,
            model_metrics=model_metrics,
            runtime_metrics=runtime_metrics,
            agent_metrics=agent_metrics,
            topic=self.alarm_topic,
            dead_letter_queue=watchlist_dead_letter_queue,
        )
        self.dashboard = OperationsDashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name_for(stage),
            model_metrics=model_metrics,
            runtime_metrics=runtime_metrics,
            agent_metrics=agent_metrics,
            alarms=self.alarms.all,
        )
        if canary_endpoint_name is not None:
            # Pages stay on live; the canary is watched beside it, not alarmed.
            self.dashboard.dashboard.add_widgets(
                *runtime_comparison_widgets(
                    {
                        runtime_endpoint_name: runtime_metrics,
                        canary_endpoint_name: RuntimeMetrics(
                            runtime=runtime_reference, endpoint_name=canary_endpoint_name
                        ),
                    }
                )
            )

        CfnOutput(self, "AlarmTopicArn", value=self.alarm_topic.topic.topic_arn)
        CfnOutput(
            self,
            "DashboardUrl",
            value=(
                f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region="
                f"{self.region}#dashboards:name={dashboard_name_for(stage)}"
            ),
        )
        logger.info(
            "monitoring %s: scale_to_zero=%s, alarm e-mail %s",
            stage,
            operations.autoscaling.scale_to_zero,
            "set" if operations.alarms.email else "not set",
        )
