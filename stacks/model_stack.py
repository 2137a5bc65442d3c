"""Model: gpt-oss-20b served by vLLM on a SageMaker inference component.

The resources are one :class:`~stacks.constructs.model_endpoint.ModelEndpoint`
(model, endpoint config, endpoint, inference component, their log groups);
this stack turns the stage config into its props and the container
environment. :attr:`ModelStack.inference_component` is what the Monitoring
stack's scalable target must depend on.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.common import log_retention
from stacks.config import EndpointSettings, LogSettings, ModelSettings, ResourceNames
from stacks.constructs.model_endpoint import (
    ENDPOINT_LOGICAL_ID,
    INFERENCE_COMPONENT_LOGICAL_ID,
    VARIANT_NAME,
    ModelEndpoint,
)

__all__ = [
    "ENDPOINT_LOGICAL_ID",
    "INFERENCE_COMPONENT_LOGICAL_ID",
    "VARIANT_NAME",
    "ModelStack",
    "model_environment",
]
SERVED_MODEL_NAME = "model"
MODEL_MOUNT_PATH = "/opt/ml/model"


def model_environment(*, model: ModelSettings, accelerators_per_copy: int) -> dict[str, str]:
    """The container environment of the SageMaker Model (read by ``serve.py``)."""
    env = {
        "OPTION_MODEL": MODEL_MOUNT_PATH if model.weights_s3_uri else model.model_id,
        "OPTION_SERVED_MODEL_NAME": SERVED_MODEL_NAME,
        "OPTION_MAX_MODEL_LEN": str(model.max_model_len),
        "OPTION_GPU_MEMORY_UTILIZATION": f"{model.gpu_memory_utilization:.2f}",
        "OPTION_TENSOR_PARALLEL_SIZE": str(accelerators_per_copy),
        "OPTION_ENABLE_PREFIX_CACHING": "true",
        "OPTION_ASYNC_SCHEDULING": "true",
    }
    if model.container_log_level is not None:
        env["SAGEMAKER_CONTAINER_LOG_LEVEL"] = str(model.container_log_level)
    # LoRA adapters: fetched from S3 by serve.py, served by name beside "model".
    if model.adapters:
        env["OPTION_LORA_MODULES"] = ",".join(model.adapters)
        env["OPTION_MAX_LORA_RANK"] = str(model.max_lora_rank)
    return env


class ModelStack(Stack):
    """SageMaker model, endpoint config, endpoint and inference component."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: ResourceNames,
        model: ModelSettings,
        endpoint: EndpointSettings,
        copy_count: int,
        logs: LogSettings,
        model_image_uri: str,
        execution_role: iam.IRole,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # "Default" keeps the construct out of the logical IDs (CDK hides that id),
        # so moving the resources into it replaced nothing.
        self.model_endpoint = ModelEndpoint(
            self,
            "Default",
            endpoint_name=names.endpoint,
            component_name=names.inference_component,
            image_uri=model_image_uri,
            environment=model_environment(
                model=model, accelerators_per_copy=endpoint.accelerators_per_copy
            ),
            weights_s3_uri=model.weights_s3_uri,
            network_isolation=model.network_isolation,
            execution_role=execution_role,
            endpoint=endpoint,
            copy_count=copy_count,
            log_retention=log_retention(logs.retention_days),
            encrypt_logs=logs.kms_encryption,
        )
        self.endpoint = self.model_endpoint.endpoint
        self.inference_component = self.model_endpoint.inference_component
        self.endpoint_name = self.endpoint.attr_endpoint_name
        self.inference_component_name = names.inference_component
        CfnOutput(self, "EndpointName", value=self.endpoint.attr_endpoint_name)
        CfnOutput(self, "InferenceComponentName", value=names.inference_component)
