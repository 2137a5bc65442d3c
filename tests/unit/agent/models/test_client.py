"""Which model client the settings build, and the clients' constructor checks."""

from __future__ import annotations

import pytest
from stock_agent.models.client import build_model_client
from stock_agent.models.openai import OpenAIModelClient
from stock_agent.models.sagemaker import SageMakerModelClient
from stock_agent.models.tracing import TracedModelClient
from stock_agent.models.types import ModelError
from stock_agent.settings import AgentSettings


def test_settings_build_the_right_client() -> None:
    traced = build_model_client(
        AgentSettings(
            model_provider="sagemaker",
            sagemaker_endpoint_name="ep",
            sagemaker_inference_component="ic",
            aws_region="us-west-2",
            model_timeout_seconds=30,
            model_max_retries=1,
            model_cold_start_wait_seconds=90,
        )
    )
    # Remote clients come wrapped so that every call is a GenAI span.
    assert isinstance(traced, TracedModelClient) and traced.provider == "aws.sagemaker"
    sagemaker = traced.inner
    assert isinstance(sagemaker, SageMakerModelClient)
    assert (sagemaker.endpoint_name, sagemaker.inference_component, sagemaker.region) == (
        "ep",
        "ic",
        "us-west-2",
    )
    assert (sagemaker.timeout_s, sagemaker.cold_start_wait_s, sagemaker.policy.max_retries) == (
        30,
        90,
        1,
    )
    assert sagemaker.model == "model"
    traced = build_model_client(
        AgentSettings(model_provider="openai", openai_base_url="http://127.0.0.1:8000/v1/")
    )
    assert isinstance(traced, TracedModelClient) and traced.server_address == "127.0.0.1"
    openai = traced.inner
    assert isinstance(openai, OpenAIModelClient)
    assert openai.url == "http://127.0.0.1:8000/v1/chat/completions"


def test_bad_constructor_arguments_are_clear_errors() -> None:
    with pytest.raises(ModelError, match="base_url"):
        OpenAIModelClient(base_url="file:///etc/passwd", model="model")
    with pytest.raises(ModelError, match="inference_component"):
        SageMakerModelClient(endpoint_name="e", inference_component="")
