"""Copy-count autoscaling of the SageMaker inference component, with scale-to-zero.

Four pieces, all required for scale-to-zero (AWS, "Scale an endpoint to
zero instances"):

1. a scalable target ``inference-component/<name>`` on
   ``sagemaker:inference-component:DesiredCopyCount`` whose minimum is 0;
2. target tracking on concurrent requests per copy (scales out under load
   and back in, down to the minimum, when idle);
3. a step-scaling policy that adds one copy;
4. an alarm on ``NoCapacityInvocationFailures`` that runs that policy.

Target tracking alone can never leave zero (there is no per-copy load to
track without a copy), so without 3 and 4 the endpoint would scale to zero
once and never answer again. With ``scale_to_zero`` off the minimum is at
least 1 and the wake-up pieces are left out.

The scalable target is an L1 without ``RoleARN`` so Application Auto Scaling
uses its service-linked role: the L2 would create an extra IAM role, and the
IAM stack is meant to be the only place roles are defined.
"""

from __future__ import annotations

import logging

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from constructs import Construct, IDependable

from stacks.config import AutoscalingConfig
from stacks.metrics import ModelMetrics

logger = logging.getLogger(__name__)

SCALABLE_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
SERVICE_NAMESPACE = "sagemaker"


class InferenceComponentAutoscaling(Construct):
    """Attach copy-count autoscaling to one inference component.

    ``component`` is the CloudFormation resource of the inference component
    (any construct): the scalable target depends on it, so CloudFormation
    registers the target only after the component exists and deregisters it
    before the component is deleted. ``component_name`` must be the literal
    name the component was created with (the L1 has no name attribute).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        component: IDependable,
        component_name: str,
        model_metrics: ModelMetrics,
        config: AutoscalingConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config

        self.scalable_target = appscaling.CfnScalableTarget(
            self,
            "Target",
            service_namespace=SERVICE_NAMESPACE,
            scalable_dimension=SCALABLE_DIMENSION,
            resource_id=f"inference-component/{component_name}",
            min_capacity=config.min_copy_count,
            max_capacity=config.max_copy_count,
        )
        self.scalable_target.node.add_dependency(component)
        # Policies must name the target by its full CloudFormation ID
        # ("<resource>|<dimension>|<namespace>", the L1's Ref). Passing the L1
        # itself would give them only the first field (the resource id), which
        # is not a scalable-target ID; the imported view carries the Ref as is.
        target_ref = appscaling.ScalableTarget.from_scalable_target_attributes(
            self,
            "TargetRef",
            scalable_target_id=self.scalable_target.ref,
            scalable_dimension=SCALABLE_DIMENSION,
            service_namespace=SERVICE_NAMESPACE,
        )

        self.target_tracking = appscaling.TargetTrackingScalingPolicy(
            self,
            "ConcurrencyTracking",
            scaling_target=target_ref,
            predefined_metric=(
                appscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_CONCURRENT_REQUESTS_PER_COPY_HIGH_RESOLUTION
            ),
            target_value=config.target_concurrent_requests_per_copy,
            scale_out_cooldown=Duration.seconds(config.scale_out_cooldown_seconds),
            scale_in_cooldown=Duration.seconds(config.scale_in_cooldown_seconds),
        )

        self.wake_up_policy: appscaling.StepScalingAction | None = None
        self.wake_up_alarm: cw.Alarm | None = None
        if config.scale_to_zero:
            self.wake_up_policy = appscaling.StepScalingAction(
                self,
                "WakeUp",
                scaling_target=target_ref,
                adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
                metric_aggregation_type=appscaling.MetricAggregationType.MAXIMUM,
                cooldown=Duration.seconds(config.wake_up_cooldown_seconds),
            )
            # The alarm fires when the failures reach 1: any breach adds one copy.
            self.wake_up_policy.add_adjustment(adjustment=1, lower_bound=0)
            self.wake_up_alarm = cw.Alarm(
                self,
                "NoCapacityAlarm",
                alarm_description=(
                    f"Wakes {component_name} from zero copies: a request arrived while no "
                    "copy was running (drives the step-scaling policy, pages nobody)."
                ),
                metric=model_metrics.no_capacity_failures(),
                threshold=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
            self.wake_up_alarm.add_alarm_action(
                cw_actions.ApplicationScalingAction(self.wake_up_policy)
            )
        logger.debug(
            "autoscaling %s: copies %d..%d, scale_to_zero=%s",
            component_name,
            config.min_copy_count,
            config.max_copy_count,
            config.scale_to_zero,
        )
