"""Builds the model client a run's context names; the only module that knows every provider."""

from __future__ import annotations

from urllib.parse import urlparse

from ..settings import AgentSettings
from .tracing import TracedModelClient
from .types import ModelClient, OfflineModelClient

# MODEL_PROVIDER -> the OpenTelemetry GenAI provider name its spans carry.
GENAI_PROVIDER_NAMES = {"sagemaker": "aws.sagemaker", "openai": "openai"}


def build_model_client(ctx: AgentSettings) -> ModelClient:
    """The client ``ctx.model_provider`` names. Imports lazily: boto3 is slow to import.

    Remote clients are wrapped in :class:`TracedModelClient`: every call
    becomes a GenAI span in the request's trace.
    """
    if ctx.model_provider == "sagemaker":
        from .sagemaker import SageMakerModelClient

        return TracedModelClient(
            SageMakerModelClient.from_settings(ctx),
            provider=GENAI_PROVIDER_NAMES["sagemaker"],
            request_model=ctx.served_model,
            server_address=ctx.sagemaker_endpoint_name,
            capture_content=ctx.trace_model_content,
        )
    if ctx.model_provider == "openai":
        from .openai import OpenAIModelClient

        return TracedModelClient(
            OpenAIModelClient.from_settings(ctx),
            provider=GENAI_PROVIDER_NAMES["openai"],
            request_model=ctx.served_model,
            server_address=urlparse(ctx.openai_base_url or "").hostname,
            capture_content=ctx.trace_model_content,
        )
    return OfflineModelClient()
