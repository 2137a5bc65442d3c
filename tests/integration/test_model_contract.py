"""The contract between the model stack, the model container and the agent.

The CDK app is synthesized (``tests/support/cdk_synth.py``); the container
environment is read from the ``AWS::SageMaker::Model`` resource and fed to
the real entrypoint (``model_container/serve.py``), whose exact ``vllm
serve`` command is checked. Then the agent's settings are read from the
AgentCore runtime's environment in the same synthesized app and its
SageMaker client calls, through a real boto3 client, a fake SageMaker
runtime (the REST wire format) in front of a fake vLLM serving the name the
container was configured with: the GPU endpoint cannot run here, the fakes
speak its wire formats.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `tests.support` lives at the repository root
    sys.path.insert(0, str(REPO))

from stock_agent.models.sagemaker import SageMakerModelClient  # noqa: E402
from stock_agent.settings import AgentSettings  # noqa: E402

from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime  # noqa: E402
from tests.support.fake_vllm import FakeVLLM, load_fixture  # noqa: E402
from tests.support.model_clients import call_profile  # noqa: E402

pytestmark = pytest.mark.slow

WEIGHTS = {
    "model__weights_s3_uri": "s3://contract-test-weights/gpt-oss-20b/",
    "model__network_isolation": "true",
}


def _serve_module() -> ModuleType:
    """``model_container`` is the Docker build context, not a package: load serve.py by path."""
    name = "model_container_serve"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "model_container" / "serve.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


serve = _serve_module()


def templates(stage: str, **overrides: str) -> dict[str, dict[str, Any]]:
    try:
        from tests.support.cdk_synth import synth_templates
    except ImportError as err:  # the CDK engineer's helper is missing
        pytest.fail(f"tests/support/cdk_synth.py is needed for the contract: {err}")
    return synth_templates(stage, **overrides)


def the_resource(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = [r for r in template["Resources"].values() if r["Type"] == resource_type]
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    properties: dict[str, Any] = found[0]["Properties"]
    return properties


def container_environment(stage: str, **overrides: str) -> tuple[dict[str, str], dict[str, Any]]:
    """``PrimaryContainer.Environment`` of the model, which must be plain strings."""
    model = the_resource(templates(stage, **overrides)["Model"], "AWS::SageMaker::Model")
    env = model["PrimaryContainer"].get("Environment", {})
    tokens = {k: v for k, v in env.items() if not isinstance(v, str)}
    assert not tokens, (
        f"{stage}: the model container's environment must be plain strings so the image can "
        f"validate it at start-up; these are CloudFormation tokens: {tokens}"
    )
    return env, model


def expected_command(env: dict[str, str]) -> list[str]:
    """The command the stack's environment must produce, value by value."""
    return [
        "vllm",
        "serve",
        env["OPTION_MODEL"],
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
        "--served-model-name",
        "model",
        "--tool-call-parser",
        "openai",
        "--enable-auto-tool-choice",
        "--reasoning-parser",
        "openai_gptoss",
        "--max-model-len",
        env["OPTION_MAX_MODEL_LEN"],
        "--gpu-memory-utilization",
        env["OPTION_GPU_MEMORY_UTILIZATION"],
        "--tensor-parallel-size",
        "1",
        "--enable-prefix-caching",
        "--async-scheduling",
    ]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_stack_environment_gives_the_exact_vllm_command(stage: str) -> None:
    env, _model = container_environment(stage)
    assert env["OPTION_MODEL"] in ("openai/gpt-oss-20b", "/opt/ml/model")
    assert env["OPTION_SERVED_MODEL_NAME"] == "model"
    assert env["OPTION_TENSOR_PARALLEL_SIZE"] == "1"
    plan = serve.build_plan(env)  # raises ConfigError naming a bad variable
    assert plan.argv == expected_command(env)
    offline = env["OPTION_MODEL"].startswith("/")
    assert plan.env.get("HF_HUB_OFFLINE") == ("1" if offline else None)


def test_s3_weights_environment_runs_the_container_offline() -> None:
    """The stack's environment for S3 weights (built by the stack's own function, no synth).

    Synthesizing a third app costs ~20 s; the mount itself (``ModelDataSource``)
    is covered by the infra tests, the container side is covered here.
    """
    from stacks.config import load_stage
    from stacks.model_stack import model_environment

    config = load_stage("dev", {k.replace("__", "."): v for k, v in WEIGHTS.items()})
    env = model_environment(
        model=config.model, accelerators_per_copy=config.endpoint.accelerators_per_copy
    )
    assert env["OPTION_MODEL"] == "/opt/ml/model"
    plan = serve.build_plan(env)
    assert plan.argv == expected_command(env)
    assert plan.env["HF_HUB_OFFLINE"] == "1"


def _agent_settings(stage: str) -> AgentSettings:
    """The agent's settings from the runtime's environment; tokens get loopback stand-ins."""
    # The agent's runtime (the Mcp stack's runtime serves the tools and calls no model).
    runtimes = [
        r["Properties"]
        for r in templates(stage)["Runtime"]["Resources"].values()
        if r["Type"] == "AWS::BedrockAgentCore::Runtime"
    ]
    assert len(runtimes) == 1, "expected one AgentCore runtime in the Runtime stack"
    raw = runtimes[0].get("EnvironmentVariables", {})
    stand_ins = {
        "SAGEMAKER_ENDPOINT_NAME": "endpoint-from-import",
        "AWS_REGION": "us-east-1",
        "AGENTCORE_MEMORY_ID": "SessionMemory_from_import-AbCdEf1234",
    }
    env = {k: v if isinstance(v, str) else stand_ins.get(k, "") for k, v in raw.items()}
    env.pop("REPORT_BUCKET", None)
    return AgentSettings.from_env(env)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_agent_settings_reach_the_configured_container(stage: str) -> None:
    """Template → agent settings → real boto3 → fake runtime → fake vLLM with the served name."""
    env, _model = container_environment(stage)
    component = the_resource(templates(stage)["Model"], "AWS::SageMaker::InferenceComponent")
    settings = _agent_settings(stage)
    assert settings.model_provider == "sagemaker"
    assert settings.openai_model == env["OPTION_SERVED_MODEL_NAME"]
    if isinstance(component.get("InferenceComponentName"), str):
        assert settings.sagemaker_inference_component == component["InferenceComponentName"]

    with (
        FakeVLLM.start(served_model_name=env["OPTION_SERVED_MODEL_NAME"]) as vllm,
        FakeSageMakerRuntime.start(backend=vllm.base_url) as runtime,
    ):
        vllm.enqueue(body=load_fixture("chat_reasoning.json"))
        client = SageMakerModelClient.from_settings(settings)
        client._client = runtime.client()  # the same client boto3 would build, aimed at the fake
        result = client.chat(
            call_profile(max_tokens=settings.model_max_tokens),
            [{"role": "user", "content": "Analyze SIM_STOCK"}],
        )
    assert result.content and result.reasoning
    [call] = runtime.requests
    assert call.inference_component == settings.sagemaker_inference_component
    assert vllm.chat_requests[0]["model"] == env["OPTION_SERVED_MODEL_NAME"]
