"""Builds the model client a run's context names; the only module that knows every provider."""

from __future__ import annotations

from ..context import AgentContext
from .types import ModelClient, OfflineModelClient


def build_model_client(ctx: AgentContext) -> ModelClient:
    """The client ``ctx.model_provider`` names. Imports lazily: boto3 is slow to import."""
    if ctx.model_provider == "sagemaker":
        from .sagemaker import SageMakerModelClient

        return SageMakerModelClient.from_context(ctx)
    if ctx.model_provider == "openai":
        from .openai import OpenAIModelClient

        return OpenAIModelClient.from_context(ctx)
    return OfflineModelClient()
