"""Model endpoint: gpt-oss-20b served by vLLM on a SageMaker inference component.

CDK has only L1 constructs for inference components, so this stack wires
them by hand:

* ``CfnModel``: the vLLM image from the Images stack and the container
  environment that ``model_container/serve.py`` turns into the vLLM
  command (``OPTION_*`` names). With S3 weights the model mounts them at
  ``/opt/ml/model`` (uncompressed ``S3Prefix``) and may run network-isolated.
* ``CfnEndpointConfig``: inference-component based, so the execution role
  sits at config level and the single variant carries no model: instance
  type and counts, managed instance scaling, least-outstanding-requests
  routing.
* ``CfnEndpoint`` with the deterministic name the IAM stack wrote into the
  runtime role's policy.
* ``CfnInferenceComponent``: accelerators, memory, copy count, start-up
  health-check and download timeouts. It references the endpoint through
  ``Fn::GetAtt`` *and* an explicit ``DependsOn``, so CloudFormation deletes
  it before the endpoint (an endpoint with a component attached cannot be
  deleted).

The constructs are attributes (:attr:`ModelStack.endpoint`,
:attr:`ModelStack.inference_component`) for the operations stack
(autoscaling, alarms), which must make its scalable target depend on
:attr:`ModelStack.inference_component`.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.common import log_retention, removal_policy
from stacks.config import StageConfig

# Pinned so that refactoring constructs never replaces the endpoint in place.
ENDPOINT_LOGICAL_ID = "Endpoint"
INFERENCE_COMPONENT_LOGICAL_ID = "InferenceComponent"
VARIANT_NAME = "AllTraffic"
SERVED_MODEL_NAME = "model"
MODEL_MOUNT_PATH = "/opt/ml/model"


def model_environment(config: StageConfig) -> dict[str, str]:
    """The container environment of the SageMaker Model (read by ``serve.py``)."""
    model = config.model
    env = {
        "OPTION_MODEL": MODEL_MOUNT_PATH if model.weights_s3_uri else model.model_id,
        "OPTION_SERVED_MODEL_NAME": SERVED_MODEL_NAME,
        "OPTION_MAX_MODEL_LEN": str(model.max_model_len),
        "OPTION_GPU_MEMORY_UTILIZATION": f"{model.gpu_memory_utilization:.2f}",
        "OPTION_TENSOR_PARALLEL_SIZE": str(config.endpoint.accelerators_per_copy),
        "OPTION_ENABLE_PREFIX_CACHING": "true",
        "OPTION_ASYNC_SCHEDULING": "true",
    }
    if model.container_log_level is not None:
        env["SAGEMAKER_CONTAINER_LOG_LEVEL"] = str(model.container_log_level)
    # --- LoRA adapters: fetched from S3 by serve.py, served by name beside "model" ---
    if model.adapters:
        env["OPTION_LORA_MODULES"] = ",".join(model.adapters)
        env["OPTION_MAX_LORA_RANK"] = str(model.max_lora_rank)
    # --- end LoRA adapters ---
    return env


class ModelStack(Stack):
    """SageMaker model, endpoint config, endpoint and inference component."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        model_image_uri: str,
        execution_role: iam.IRole,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        endpoint_cfg = config.endpoint
        removal = removal_policy(config)

        # Created here (not by SageMaker on first write) so retention is explicit.
        self.log_groups = [
            logs.LogGroup(
                self,
                f"{kind}LogGroup",
                log_group_name=f"/aws/sagemaker/{kind}s/{name}",
                retention=log_retention(config.logs.retention_days),
                removal_policy=removal,
            )
            for kind, name in (
                ("Endpoint", config.endpoint_name),
                ("InferenceComponent", config.inference_component_name),
            )
        ]

        container = sagemaker.CfnModel.ContainerDefinitionProperty(
            image=model_image_uri,
            environment=model_environment(config),
            model_data_source=(
                sagemaker.CfnModel.ModelDataSourceProperty(
                    s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                        s3_uri=config.model.weights_s3_uri,
                        s3_data_type="S3Prefix",
                        compression_type="None",
                    )
                )
                if config.model.weights_s3_uri
                else None
            ),
        )
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=execution_role.role_arn,
            primary_container=container,
            enable_network_isolation=config.model.network_isolation,
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
            endpoint_name=config.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
        )
        self.endpoint.override_logical_id(ENDPOINT_LOGICAL_ID)
        for group in self.log_groups:
            self.endpoint.node.add_dependency(group)

        self.inference_component = sagemaker.CfnInferenceComponent(
            self,
            "InferenceComponent",
            inference_component_name=config.inference_component_name,
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
                copy_count=endpoint_cfg.copy_count
            ),
        )
        self.inference_component.override_logical_id(INFERENCE_COMPONENT_LOGICAL_ID)
        # The GetAtt already orders it; the explicit DependsOn documents the destroy order.
        self.inference_component.add_resource_dependency(self.endpoint)

        self.endpoint_name = self.endpoint.attr_endpoint_name
        self.inference_component_name = config.inference_component_name
        CfnOutput(self, "EndpointName", value=self.endpoint.attr_endpoint_name)
        CfnOutput(self, "InferenceComponentName", value=config.inference_component_name)
