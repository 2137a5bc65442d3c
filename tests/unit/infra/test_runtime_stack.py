"""The agent runtime's template: the env contract, no secrets, lifecycle, auth, outputs.

The environment is checked against the agent's own settings class
(``stock_agent.settings.AgentSettings``): the values the stack sets, with
deploy-time references replaced by plausible literals, must load without
a ``ConfigError``, so the two halves cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Any

from stock_agent import settings as agent_settings
from stock_agent.settings import OFF, AgentSettings

from stacks.config import AGENTCORE_REQUEST_TIMEOUT_SECONDS, load_stage
from stacks.config import storage as storage_config
from stacks.runtime_stack import REPORT_LINKS_OFF, runtime_environment
from tests.support.cdk_synth import (
    VARIANT_JWT_DISCOVERY_URL,
    only,
    resources,
    variant_templates,
)

SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|KEY", re.IGNORECASE)


def _runtime(templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return only(templates["Runtime"], "AWS::BedrockAgentCore::Runtime")[1]["Properties"]


def test_environment_is_the_agent_contract(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    config = load_stage(stage)
    env = _runtime(templates)["EnvironmentVariables"]
    assert set(env) == {
        "MODEL_PROVIDER", "SAGEMAKER_ENDPOINT_NAME", "SAGEMAKER_INFERENCE_COMPONENT",
        "REPORT_BUCKET", "LOG_LEVEL", "REQUEST_DEADLINE_SECONDS",
        "MODEL_COLD_START_WAIT_SECONDS", "STAGE", "MEMORY_BACKEND", "AGENTCORE_MEMORY_ID",
        "REPORT_URL_EXPIRES_SECONDS",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    }  # fmt: skip
    # AgentCore sets AWS_REGION in the container itself; the template must not.
    assert "AWS_REGION" not in env
    assert env["MEMORY_BACKEND"] == "agentcore"
    assert "SessionMemory" in env["AGENTCORE_MEMORY_ID"]["Fn::ImportValue"]
    assert env["REPORT_URL_EXPIRES_SECONDS"] == "3600"  # presigned links, at most one hour
    assert env["MODEL_PROVIDER"] == "sagemaker"
    assert env["STAGE"] == stage  # dimension of the agent's EMF metrics (docs/operations.md)
    assert env["SAGEMAKER_INFERENCE_COMPONENT"] == config.inference_component_name
    assert "EndpointEndpointName" in env["SAGEMAKER_ENDPOINT_NAME"]["Fn::ImportValue"]
    assert "ReportBucket" in env["REPORT_BUCKET"]["Fn::ImportValue"]
    assert int(env["REQUEST_DEADLINE_SECONDS"]) < AGENTCORE_REQUEST_TIMEOUT_SECONDS
    literal = {
        **env,
        "SAGEMAKER_ENDPOINT_NAME": config.endpoint_name,
        "REPORT_BUCKET": "gptoss-agent-reports-example",
        "AWS_REGION": "us-west-2",  # what AgentCore puts into the container
        "AGENTCORE_MEMORY_ID": "StockAgentMemory_dev-AbCdEf1234",
    }
    settings = AgentSettings.from_env(literal)
    assert settings.model_provider == "sagemaker"
    assert settings.memory_backend == "agentcore"
    assert settings.report_url_expires_seconds == 3600
    assert settings.sagemaker_inference_component == config.inference_component_name
    assert settings.log_level == config.runtime.log_level
    assert settings.model_cold_start_wait_seconds < settings.request_deadline_seconds
    assert settings.trace_model_content  # online evaluation reads the model-call messages


def test_environment_holds_no_secrets(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    _, templates = stage_templates
    for templates_ in (templates, variant_templates()):
        env = _runtime(templates_)["EnvironmentVariables"]
        leaked = {k: v for k, v in env.items() if SECRET_NAME.search(k) and isinstance(v, str)}
        assert leaked == {}


def test_runtime_name_image_role_and_lifecycle(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    config = load_stage(stage)
    runtime = _runtime(templates)
    assert runtime["AgentRuntimeName"] == config.runtime_name
    uri = runtime["AgentRuntimeArtifact"]["ContainerConfiguration"]["ContainerUri"]["Fn::Sub"]
    assert "container-assets" in uri
    assert "RuntimeExecutionRole" in runtime["RoleArn"]["Fn::ImportValue"]
    assert runtime["LifecycleConfiguration"] == {
        "IdleRuntimeSessionTimeout": config.runtime.idle_session_timeout_seconds,
        "MaxLifetime": config.runtime.max_lifetime_seconds,
    }
    assert runtime["ProtocolConfiguration"] == "HTTP"
    assert "AuthorizerConfiguration" not in runtime  # IAM (SigV4) by default


def test_named_endpoint_application_logs_and_outputs(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    config = load_stage(stage)
    runtime_template = templates["Runtime"]
    _, endpoint = only(runtime_template, "AWS::BedrockAgentCore::RuntimeEndpoint")
    assert endpoint["Properties"]["Name"] == config.runtime.endpoint_name
    (runtime_id,) = resources(runtime_template, "AWS::BedrockAgentCore::Runtime")
    assert endpoint["Properties"]["AgentRuntimeVersion"] == {
        "Fn::GetAtt": [runtime_id, "AgentRuntimeVersion"]
    }
    log_types = {
        source["Properties"]["LogType"]
        for source in resources(runtime_template, "AWS::Logs::DeliverySource").values()
    }
    assert log_types == {"APPLICATION_LOGS", "TRACES"}  # traces: docs/operations.md, Tracing
    groups = resources(runtime_template, "AWS::Logs::LogGroup")
    assert groups["ApplicationLogsAF17AEF2"]["Properties"]["LogGroupName"].startswith(
        "/aws/vendedlogs/"
    )

    outputs = runtime_template["Outputs"]
    assert outputs["RuntimeArn"]["Value"] == {"Fn::GetAtt": [runtime_id, "AgentRuntimeArn"]}
    command = "".join(
        part if isinstance(part, str) else "<ref>"
        for part in outputs["InvokeCommand"]["Value"]["Fn::Join"][1]
    )
    assert command.startswith("aws bedrock-agentcore invoke-agent-runtime --region <ref>")
    assert f"--qualifier {config.runtime.endpoint_name}" in command
    assert "--agent-runtime-arn <ref>" in command
    assert '--payload \'{"prompt": ' in command


def test_the_jwt_reaches_the_container_only_with_the_jwt_authorizer(
    dev_templates: dict[str, dict[str, Any]],
) -> None:
    assert "RequestHeaderConfiguration" not in _runtime(dev_templates)
    assert _runtime(variant_templates())["RequestHeaderConfiguration"] == {
        "RequestHeaderAllowlist": ["Authorization"]
    }


def test_no_links_is_the_one_spelling_the_agent_reads_as_none() -> None:
    config = load_stage("dev", {"storage.presigned_link_seconds": "none"})
    env = runtime_environment(
        names=config.names,
        runtime=config.runtime,
        storage=config.storage,
        endpoint_name="e",
        report_bucket_name="b",
    )
    assert env["REPORT_URL_EXPIRES_SECONDS"] == REPORT_LINKS_OFF == OFF
    assert "MEMORY_BACKEND" not in env  # without a memory the agent keeps sessions in-process
    assert (
        AgentSettings.from_env({**env, "SAGEMAKER_ENDPOINT_NAME": "e"}).report_url_expires_seconds
        is None
    )


def test_both_sides_allow_the_same_link_lifetimes() -> None:
    """One range: what the stack config accepts, the agent accepts (and nothing more)."""
    assert (storage_config.MIN_LINK_SECONDS, storage_config.MAX_LINK_SECONDS) == (
        agent_settings.MIN_LINK_SECONDS,
        agent_settings.MAX_LINK_SECONDS,
    )


def test_jwt_authorizer_comes_from_the_stage_config() -> None:
    runtime = _runtime(variant_templates())
    assert runtime["AuthorizerConfiguration"] == {
        "CustomJWTAuthorizer": {
            "DiscoveryUrl": VARIANT_JWT_DISCOVERY_URL,
            "AllowedClients": ["agent-web-client"],
            "AllowedAudience": ["stock-agent"],
        }
    }


def test_the_endpoints_service_log_group_is_ours_before_the_endpoint_exists(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    """AgentCore writes the endpoint's logs to /aws/bedrock-agentcore/runtimes/<id>-<endpoint>:
    the stack creates that group (retention, key, deleted with the stack) after the runtime
    and before the endpoint, and the online evaluation reads exactly it."""
    stage, templates = stage_templates
    config = load_stage(stage)
    runtime_template = templates["Runtime"]
    (runtime_id,) = resources(runtime_template, "AWS::BedrockAgentCore::Runtime")
    group = runtime_template["Resources"]["RuntimeEndpointLogs"]
    name = group["Properties"]["LogGroupName"]
    assert name == {
        "Fn::Join": [
            "",
            [
                "/aws/bedrock-agentcore/runtimes/",
                {"Fn::GetAtt": [runtime_id, "AgentRuntimeId"]},
                f"-{config.runtime.endpoint_name}",
            ],
        ]
    }
    assert group["Properties"]["RetentionInDays"] == config.logs.retention_days
    assert "KmsKeyId" in group["Properties"]
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Delete"
    _, endpoint = only(runtime_template, "AWS::BedrockAgentCore::RuntimeEndpoint")
    assert "RuntimeEndpointLogs" in endpoint["DependsOn"]
    # The evaluation's data source is the same name, the runtime id taken from SSM.
    online = [
        r["Properties"]
        for r in templates["Evaluation"]["Resources"].values()
        if r["Type"] == "AWS::BedrockAgentCore::OnlineEvaluationConfig"
    ]
    (source,) = online[0]["DataSourceConfig"]["CloudWatchLogs"]["LogGroupNames"]
    assert source["Fn::Join"][1][0] == name["Fn::Join"][1][0]
    assert source["Fn::Join"][1][-1] == name["Fn::Join"][1][-1]
