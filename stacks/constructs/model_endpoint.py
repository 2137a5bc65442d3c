"""The model endpoint: SageMaker model, endpoint config, endpoint, inference component.

CDK has only L1 constructs for inference components, so this construct wires
them by hand:

* ``CfnModel``: the vLLM image and the container environment that
  ``model_container/serve.py`` turns into the vLLM command (``OPTION_*``
  names). With S3 weights the model mounts them at ``/opt/ml/model``
  (uncompressed ``S3Prefix``) and may run network-isolated.
* ``CfnEndpointConfig``: inference-component based, so the execution role
  sits at config level and the single variant carries no model: instance
  type and counts, managed instance scaling, least-outstanding-requests
  routing.
* ``CfnEndpoint`` with the deterministic name the IAM stack wrote into the
  runtime role's policy.
* ``CfnInferenceComponent``: accelerators, memory, the copy count it is
  created with (the autoscaling maximum by default, so an update that sends it
  again can only add copies), start-up
  health-check and download timeouts, and an explicit rolling-update
  policy with a rollback alarm (a model update starts the new copy before
  it stops the old one; the instance limit leaves room for it). It
  references the endpoint through ``Fn::GetAtt`` *and* an explicit
  ``DependsOn``, so CloudFormation deletes it before the endpoint (an
  endpoint with a component attached cannot be deleted).
* The endpoint's and component's log groups (names SageMaker dictates).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.config import EndpointSettings
from stacks.constructs.log_groups import LogGroupSpec, ServiceLogGroups
from stacks.metrics import ModelMetrics

# Pinned so that refactoring constructs never replaces the endpoint in place.
ENDPOINT_LOGICAL_ID = "Endpoint"
INFERENCE_COMPONENT_LOGICAL_ID = "InferenceComponent"
VARIANT_NAME = "AllTraffic"


class ModelEndpoint(Construct):
    """One model served by one inference component on its own endpoint."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        component_name: str,
        image_uri: str,
        environment: Mapping[str, str],
        weights_s3_uri: str | None,
        network_isolation: bool,
        execution_role: iam.IRole,
        endpoint: EndpointSettings,
        copy_count: int,
        log_retention: logs.RetentionDays,
        encrypt_logs: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        endpoint_cfg = endpoint

        # Created here (not by SageMaker on first write) so retention and key are explicit.
        self.log_groups = ServiceLogGroups(
            self,
            "LogGroups",
            groups={
                "EndpointLogGroup": LogGroupSpec(
                    name=f"/aws/sagemaker/Endpoints/{endpoint_name}",
                    logical_id="EndpointLogGroup63A93A8D",
                ),
                "InferenceComponentLogGroup": LogGroupSpec(
                    name=f"/aws/sagemaker/InferenceComponents/{component_name}",
                    logical_id="InferenceComponentLogGroupEA4BFC19",
                ),
            },
            retention=log_retention,
            encrypt=encrypt_logs,
            purpose=f"the {endpoint_name} endpoint",
        )

        container = sagemaker.CfnModel.ContainerDefinitionProperty(
            image=image_uri,
            environment=dict(environment),
            model_data_source=(
                sagemaker.CfnModel.ModelDataSourceProperty(
                    s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                        s3_uri=weights_s3_uri,
                        s3_data_type="S3Prefix",
                        compression_type="None",
                    )
                )
                if weights_s3_uri
                else None
            ),
        )
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=execution_role.role_arn,
            primary_container=container,
            enable_network_isolation=network_isolation,
        )

        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            execution_role_arn=execution_role.role_arn,
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    instance_type=endpoint_cfg.instance_type,
                    initial_instance_count=endpoint_cfg.initial_instance_count,
                    # The CUDA 13 vLLM image needs the driver-580 AMI.
                    inference_ami_version=endpoint_cfg.inference_ami_version,
                    managed_instance_scaling=sagemaker.CfnEndpointConfig.ManagedInstanceScalingProperty(
                        status="ENABLED",
                        min_instance_count=endpoint_cfg.min_instance_count,
                        max_instance_count=endpoint_cfg.max_instance_count,
                    ),
                    routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(
                        routing_strategy=endpoint_cfg.routing_strategy
                    ),
                )
            ],
        )

        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
        )
        self.endpoint.override_logical_id(ENDPOINT_LOGICAL_ID)
        for group in self.log_groups.groups.values():
            self.endpoint.node.add_dependency(group)

        # Watched while an update bakes: a new copy that answers 5xx rolls the update back.
        metrics = ModelMetrics(
            endpoint_name=endpoint_name, variant_name=VARIANT_NAME, component_name=component_name
        )
        self.rollback_alarm = cw.Alarm(
            self,
            "UpdateRollbackAlarm",
            alarm_description=(
                f"Rolls back an update of {component_name}: the component "
                "answered 5xx during the update's bake time (watched by SageMaker, pages nobody)."
            ),
            metric=metrics.invocation("Invocation5XXErrors", period=Duration.minutes(1)),
            threshold=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        batch = sagemaker.CfnInferenceComponent.InferenceComponentCapacitySizeProperty(
            type="COPY_COUNT", value=endpoint_cfg.rolling_batch_copies
        )

        self.inference_component = sagemaker.CfnInferenceComponent(
            self,
            "InferenceComponent",
            inference_component_name=component_name,
            endpoint_name=self.endpoint.attr_endpoint_name,
            variant_name=VARIANT_NAME,
            specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                model_name=self.model.attr_model_name,
                compute_resource_requirements=sagemaker.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                    number_of_accelerator_devices_required=endpoint_cfg.accelerators_per_copy,
                    min_memory_required_in_mb=endpoint_cfg.min_memory_mb,
                ),
                startup_parameters=sagemaker.CfnInferenceComponent.InferenceComponentStartupParametersProperty(
                    container_startup_health_check_timeout_in_seconds=(
                        endpoint_cfg.startup_health_check_timeout_seconds
                    ),
                    model_data_download_timeout_in_seconds=(
                        endpoint_cfg.model_data_download_timeout_seconds
                    ),
                ),
            ),
            runtime_config=sagemaker.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(
                copy_count=copy_count
            ),
            # Explicit, so an image or environment change replaces one batch of
            # copies at a time (the new one starts before the old one stops)
            # and rolls back one batch at a time, not all copies at once.
            deployment_config=sagemaker.CfnInferenceComponent.InferenceComponentDeploymentConfigProperty(
                rolling_update_policy=sagemaker.CfnInferenceComponent.InferenceComponentRollingUpdatePolicyProperty(
                    maximum_batch_size=batch,
                    rollback_maximum_batch_size=batch,
                    wait_interval_in_seconds=endpoint_cfg.rolling_wait_seconds,
                    maximum_execution_timeout_in_seconds=endpoint_cfg.rolling_timeout_seconds,
                ),
                auto_rollback_configuration=sagemaker.CfnInferenceComponent.AutoRollbackConfigurationProperty(
                    alarms=[
                        sagemaker.CfnInferenceComponent.AlarmProperty(
                            alarm_name=self.rollback_alarm.alarm_name
                        )
                    ]
                ),
            ),
        )
        self.inference_component.override_logical_id(INFERENCE_COMPONENT_LOGICAL_ID)
        # The GetAtt already orders it; the explicit DependsOn documents the destroy order.
        self.inference_component.add_resource_dependency(self.endpoint)
