"""The MCP stack: the tools' runtime and the gateway, against the AgentCore MCP contract.

prod deploys it by default (Cognito inbound auth, semantic search), dev does
not; a dev variant turns it on with IAM inbound auth and no search. Checked
here: the runtime runs the agent's own image with ``SERVER_PROTOCOL=mcp``
and the MCP protocol (the container then serves streamable HTTP on
0.0.0.0:8000/mcp: tests/unit/agent/mcp/test_entrypoint.py), no model and no
memory in its environment, the gateway speaks MCP in AgentCore's versions
with its one target signed by the gateway's role, the target waits for the
runtime's endpoint, and the outputs are the ones ``stock-agent invoke --mcp``
reads. The properties' shapes are cfn-lint's (test_cfn_lint.py lints prod,
and the variant here).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stacks import mcp_outputs
from stacks.config import load_stage
from tests.support.cdk_synth import nag_synth_assembly, only, resources, synth_templates
from tests.support.iam_match import PSEUDO, render

pytestmark = pytest.mark.slow

CFN_LINT = Path(sys.executable).with_name("cfn-lint")
IAM_VARIANT = {"mcp__enabled": True, "mcp__gateway_auth": "aws_iam", "mcp__semantic_search": False}


@pytest.fixture(scope="module")
def prod() -> dict[str, dict[str, Any]]:
    return synth_templates("prod")


def test_dev_deploys_no_mcp_stack_by_default() -> None:
    assert "Mcp" not in synth_templates("dev")


def test_the_runtime_is_the_agent_image_serving_mcp_without_model_or_memory(
    prod: dict[str, dict[str, Any]],
) -> None:
    config = load_stage("prod")
    _, runtime = only(prod["Mcp"], "AWS::BedrockAgentCore::Runtime")
    props = runtime["Properties"]
    assert props["ProtocolConfiguration"] == "MCP"
    assert props["AgentRuntimeName"] == config.mcp_runtime_name
    _, agent = only(prod["Runtime"], "AWS::BedrockAgentCore::Runtime")
    image = props["AgentRuntimeArtifact"]["ContainerConfiguration"]["ContainerUri"]
    assert (
        image
        == agent["Properties"]["AgentRuntimeArtifact"]["ContainerConfiguration"]["ContainerUri"]
    )  # the same image, another command
    env = props["EnvironmentVariables"]
    assert env[mcp_outputs.SERVER_PROTOCOL_VARIABLE] == mcp_outputs.SERVER_PROTOCOL_MCP
    assert "REPORT_BUCKET" in env and env["STAGE"] == "prod"
    for agent_only in ("MODEL_PROVIDER", "SAGEMAKER_ENDPOINT_NAME", "MEMORY_BACKEND",
                       "AGENTCORE_MEMORY_ID", "NOTIFY_TOPIC_ARN"):  # fmt: skip
        assert agent_only not in env
    assert "AuthorizerConfiguration" not in props  # IAM: the gateway signs its calls
    assert "McpRuntimeRole" in json.dumps(props["RoleArn"])
    _, endpoint = only(prod["Mcp"], "AWS::BedrockAgentCore::RuntimeEndpoint")
    assert endpoint["Properties"]["Name"] == config.mcp.endpoint_name


def test_the_gateway_speaks_mcp_with_search_and_cognito_client_credentials(
    prod: dict[str, dict[str, Any]],
) -> None:
    config = load_stage("prod")
    template = prod["Mcp"]
    _, gateway = only(template, "AWS::BedrockAgentCore::Gateway")
    props = gateway["Properties"]
    assert props["Name"] == config.mcp_gateway_name
    assert props["ProtocolType"] == "MCP"
    mcp = props["ProtocolConfiguration"]["Mcp"]
    assert mcp["SupportedVersions"] == ["2025-06-18", "2025-03-26"]
    assert mcp["SearchType"] == "SEMANTIC"
    assert "McpGatewayRole" in json.dumps(props["RoleArn"])
    assert props["AuthorizerType"] == "CUSTOM_JWT"
    jwt = props["AuthorizerConfiguration"]["CustomJWTAuthorizer"]
    client_id, client = only(template, "AWS::Cognito::UserPoolClient")
    pool_id, pool = only(template, "AWS::Cognito::UserPool")
    assert jwt["AllowedClients"] == [{"Ref": client_id}]
    assert jwt["AllowedScopes"] == [f"{config.mcp_gateway_name}/invoke"]
    assert render(jwt["DiscoveryUrl"], {**PSEUDO, pool_id: "eu-west-1_Pool"}) == (
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool"
        "/.well-known/openid-configuration"
    )
    assert client["Properties"]["AllowedOAuthFlows"] == ["client_credentials"]
    assert client["Properties"]["GenerateSecret"] is True
    # The pool holds no users and goes with the stack: nothing left behind to collide.
    assert pool["DeletionPolicy"] == "Delete" and pool["UpdateReplacePolicy"] == "Delete"
    assert pool["Properties"]["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    _, domain = only(template, "AWS::Cognito::UserPoolDomain")
    prefix = render(domain["Properties"]["Domain"], PSEUDO)
    assert prefix == f"{config.mcp_gateway_name}-{PSEUDO['AWS::AccountId']}"


def test_the_target_is_the_runtime_signed_by_the_gateway_role(
    prod: dict[str, dict[str, Any]],
) -> None:
    config = load_stage("prod")
    template = prod["Mcp"]
    runtime_id, _ = only(template, "AWS::BedrockAgentCore::Runtime")
    endpoint_id, _ = only(template, "AWS::BedrockAgentCore::RuntimeEndpoint")
    _, target = only(template, "AWS::BedrockAgentCore::GatewayTarget")
    props = target["Properties"]
    assert props["CredentialProviderConfigurations"] == [
        {
            "CredentialProviderType": "GATEWAY_IAM_ROLE",
            "CredentialProvider": {"IamCredentialProvider": {"Service": "bedrock-agentcore"}},
        }
    ]
    url = render(
        props["TargetConfiguration"]["Mcp"]["McpServer"]["Endpoint"],
        {**PSEUDO, "AWS::URLSuffix": "amazonaws.com",
         f"{runtime_id}.AgentRuntimeId": "gptoss_agent_prod_mcp-AbCdE12345"},
    )  # fmt: skip
    assert url == (
        "https://bedrock-agentcore.eu-west-1.amazonaws.com/runtimes/"
        "arn%3Aaws%3Abedrock-agentcore%3Aeu-west-1%3A123456789012%3Aruntime%2F"
        f"gptoss_agent_prod_mcp-AbCdE12345/invocations?qualifier={config.mcp.endpoint_name}"
    )
    # Creating the target lists the tools: the runtime's endpoint is up first.
    assert endpoint_id in target["DependsOn"]
    assert props["Name"] == "stock-analyst"


def test_the_outputs_are_what_invoke_mcp_reads(prod: dict[str, dict[str, Any]]) -> None:
    outputs = prod["Mcp"]["Outputs"]
    assert set(mcp_outputs.STACK_OUTPUTS) <= set(outputs)
    assert outputs[mcp_outputs.OUTPUT_GATEWAY_AUTH]["Value"] == "cognito"
    assert outputs[mcp_outputs.OUTPUT_OAUTH_SCOPES]["Value"] == "gptoss-agent-prod-mcp/invoke"
    token = render(outputs[mcp_outputs.OUTPUT_TOKEN_ENDPOINT]["Value"], {
        **PSEUDO, only(prod["Mcp"], "AWS::Cognito::UserPoolDomain")[0]: "dom"})  # fmt: skip
    assert token == "https://dom.auth.eu-west-1.amazoncognito.com/oauth2/token"
    assert "synchronize-gateway-targets" in json.dumps(outputs["SynchronizeCommand"])


def test_iam_inbound_auth_without_search_is_nag_and_lint_clean() -> None:
    outdir, templates = nag_synth_assembly("dev", **IAM_VARIANT)  # a nag finding raises
    template = templates["Mcp"]
    _, gateway = only(template, "AWS::BedrockAgentCore::Gateway")
    assert gateway["Properties"]["AuthorizerType"] == "AWS_IAM"
    assert "SearchType" not in gateway["Properties"]["ProtocolConfiguration"]["Mcp"]
    assert not [t for t in template["Resources"].values() if t["Type"].startswith("AWS::Cognito")]
    outputs = template["Outputs"]
    assert outputs[mcp_outputs.OUTPUT_GATEWAY_AUTH]["Value"] == "aws_iam"
    assert mcp_outputs.OUTPUT_TOKEN_ENDPOINT not in outputs
    roles = resources(templates["Iam"], "AWS::IAM::Role")
    assert len([logical_id for logical_id in roles if logical_id.startswith("Mcp")]) == 2
    lint = subprocess.run(
        [str(CFN_LINT), "--format", "json", "--regions", "us-east-1", "us-west-2", "--",
         str(outdir / "GptOssAgent-dev-Mcp.template.json"),
         str(outdir / "GptOssAgent-dev-Iam.template.json")],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    errors = [m for m in json.loads(lint.stdout or "[]") if m["Rule"]["Id"].startswith("E")]
    assert errors == [], json.dumps(errors, indent=1)


def test_the_container_starts_with_the_environment_the_stack_gives_it(
    prod: dict[str, dict[str, Any]],
) -> None:
    """Every variable is one the agent's settings read, and together they are valid
    settings that choose the MCP server (the bucket's name filled in)."""
    from stock_agent.settings import _ENV_NAMES, AgentSettings

    _, runtime = only(prod["Mcp"], "AWS::BedrockAgentCore::Runtime")
    env = {
        name: value if isinstance(value, str) else "gptoss-agent-prod-reports"
        for name, value in runtime["Properties"]["EnvironmentVariables"].items()
    }
    assert set(env) <= set(_ENV_NAMES.values())
    settings = AgentSettings.from_env(env)
    assert settings.server_protocol == "mcp"
    assert settings.model_provider == "offline" and settings.report_store == "s3"
