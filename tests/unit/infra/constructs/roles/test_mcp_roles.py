"""The MCP runtime's and the gateway's roles: what each may do, checked with IAM's Allow match.

From prod's synthesized IAM stack (the MCP stack is on there by default). The
runtime role may do what every runtime needs and write reports: no model,
no memory, no notifications. The gateway role may invoke the MCP runtime's
one endpoint and nothing else, not the agent's runtime. Both trust AgentCore
only for their own runtime or gateway, in this account.
"""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import load_stage
from tests.support.cdk_synth import resources, synth_templates
from tests.support.iam_match import PSEUDO, allows, render

pytestmark = pytest.mark.slow

ACCOUNT, REGION = PSEUDO["AWS::AccountId"], PSEUDO["AWS::Region"]
AGENTCORE = f"arn:aws:bedrock-agentcore:{REGION}:{ACCOUNT}"


def _role(templates: dict[str, dict[str, Any]], prefix: str) -> dict[str, Any]:
    (role,) = [
        r
        for lid, r in resources(templates["Iam"], "AWS::IAM::Role").items()
        if lid.startswith(prefix)
    ]
    return role


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def _refs(templates: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Pseudo-parameters and the imports the IAM stack's roles use, filled in."""
    text = str(templates["Iam"])
    imports = {part.split("'")[0] for part in text.split("'Fn::ImportValue': '")[1:]}
    bucket = "arn:aws:s3:::gptoss-agent-prod-reports-bucket"
    return {
        **PSEUDO,
        **{name: bucket for name in imports if "ReportBucket" in name},
        **{name: f"{AGENTCORE}:memory/m-1" for name in imports if "Memory" in name},
    }


@pytest.fixture(scope="module")
def prod() -> dict[str, dict[str, Any]]:
    assert load_stage("prod").mcp.enabled
    return synth_templates("prod")


def test_the_runtime_role_writes_reports_and_nothing_of_the_agents(
    prod: dict[str, dict[str, Any]],
) -> None:
    config = load_stage("prod")
    role = _role(prod, "McpRuntimeRole")
    statements = _statements(role)
    assert {s["Sid"] for s in statements} == {
        "PullAgentImage", "EcrLogin", "RuntimeLogGroups", "RuntimeLogStreams",
        "DescribeLogGroups", "XRay", "PublishRuntimeMetrics", "WorkloadAccessToken",
        "WriteReports",
    }  # fmt: skip
    refs = _refs(prod)
    report = "arn:aws:s3:::gptoss-agent-prod-reports-bucket/2026/12/07/KO_Stock_Report.pdf"
    assert allows(statements, "s3:PutObject", report, refs)
    assert allows(statements, "s3:GetObject", report, refs)  # presigned links (prod default)
    assert not allows(statements, "s3:DeleteObject", report, refs)
    endpoint = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{config.endpoint_name}"
    assert not any("sagemaker:" in str(s["Action"]) for s in statements), endpoint
    assert not any("CreateEvent" in str(s["Action"]) or "sns:" in str(s["Action"])
                   for s in statements)  # fmt: skip
    own = f"/aws/bedrock-agentcore/runtimes/{config.mcp_runtime_name}-AbCdE12345-live"
    agents = f"/aws/bedrock-agentcore/runtimes/{config.runtime_name}-AbCdE12345-live"
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
    assert allows(statements, "logs:CreateLogGroup", logs + own, refs)
    assert not allows(statements, "logs:CreateLogGroup", logs + agents, refs)
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert len(trust) == 1 and trust[0]["Principal"] == {
        "Service": "bedrock-agentcore.amazonaws.com"
    }
    source = render(trust[0]["Condition"]["ArnLike"]["aws:SourceArn"], refs)
    assert source == f"{AGENTCORE}:runtime/{config.mcp_runtime_name}-*"
    assert trust[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_the_agent_runtime_role_cannot_act_as_the_mcp_runtime(
    prod: dict[str, dict[str, Any]],
) -> None:
    """The agent's trust and log scopes stop at its own name ("_mcp" is not "-<id>")."""
    config = load_stage("prod")
    agent = _role(prod, "RuntimeExecutionRole")
    refs = _refs(prod)
    source = render(
        agent["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["ArnLike"][
            "aws:SourceArn"
        ],
        refs,
    )
    import fnmatch

    assert fnmatch.fnmatchcase(f"{AGENTCORE}:runtime/{config.runtime_name}-AbCdE12345", source)
    assert not fnmatch.fnmatchcase(
        f"{AGENTCORE}:runtime/{config.mcp_runtime_name}-AbCdE12345", source
    )


def test_the_gateway_role_invokes_the_mcp_runtime_endpoint_only(
    prod: dict[str, dict[str, Any]],
) -> None:
    config = load_stage("prod")
    role = _role(prod, "McpGatewayRole")
    statements = _statements(role)
    assert [s["Sid"] for s in statements] == ["InvokeMcpRuntime"]
    assert statements[0]["Action"] == "bedrock-agentcore:InvokeAgentRuntime"
    mcp = f"{AGENTCORE}:runtime/{config.mcp_runtime_name}-AbCdE12345"
    agent = f"{AGENTCORE}:runtime/{config.runtime_name}-AbCdE12345"
    invoke = "bedrock-agentcore:InvokeAgentRuntime"
    assert allows(statements, invoke, mcp)
    assert allows(statements, invoke, f"{mcp}/runtime-endpoint/{config.mcp.endpoint_name}")
    assert not allows(statements, invoke, f"{mcp}/runtime-endpoint/DEFAULT")
    assert not allows(statements, invoke, agent)
    assert not allows(statements, invoke, f"{agent}/runtime-endpoint/live")
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert len(trust) == 1
    source = render(trust[0]["Condition"]["ArnLike"]["aws:SourceArn"], PSEUDO)
    assert source == f"{AGENTCORE}:gateway/{config.mcp_gateway_name}-??????????"
    assert not allows(statements, invoke, f"{mcp}-/runtime-endpoint/live")  # ids are exact
    assert trust[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_dev_has_neither_role_by_default() -> None:
    assert not load_stage("dev").mcp.enabled
    roles = resources(synth_templates("dev")["Iam"], "AWS::IAM::Role")
    assert not [lid for lid in roles if lid.startswith("Mcp")]
