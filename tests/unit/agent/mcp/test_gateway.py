"""The client of the deployed tools: stack outputs, the Cognito token, SigV4, the gateway's names.

No gateway can be reached here. CloudFormation and Cognito requests are
validated against botocore's service models (``Stubber``); the token endpoint
is a loopback fake speaking Cognito's OAuth2 wire format; the MCP server is
the real one on loopback behind a fake authorizer (bearer token, or SigV4
recomputed with botocore's signer), all from ``tests/support/fake_auth.py``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials
from botocore.stub import Stubber
from stock_agent.cli import main
from stock_agent.client.remote import RemoteError
from stock_agent.mcp import gateway
from stock_agent.mcp.gateway import McpEndpoint, call_remote, resolve_tool_name
from stock_agent.mcp.toolbox import Toolbox
from stock_agent.settings import AgentSettings

from stacks import mcp_outputs
from tests.support.fake_auth import cognito_token_endpoint, require_bearer, require_sigv4
from tests.support.mcp_servers import mcp_url, serve_mcp_in_thread

pytestmark = pytest.mark.slow  # servers on loopback

STACK = "GptOssAgent-dev-Mcp"
GATEWAY = "https://gw-1a2b3c.gateway.bedrock-agentcore.eu-west-1.amazonaws.com/mcp"
SECRET = "s3cr3t-0123456789abcdefghij"  # Cognito secrets are at least 24 characters
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def toolbox(tmp_path_factory: pytest.TempPathFactory) -> Toolbox:
    reports = tmp_path_factory.mktemp("gateway")
    return Toolbox.from_settings(AgentSettings.from_env({}, reports_dir=str(reports)))


def stubbed(service: str) -> Any:
    return boto3.client(service, region_name="eu-west-1", **KEYS)


def stack_response(outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": STACK,
                "CreationTime": "2026-01-01T00:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


COGNITO_OUTPUTS = {
    "GatewayUrl": GATEWAY,
    "GatewayAuth": "cognito",
    "TokenEndpointUrl": "https://pool.auth.eu-west-1.amazoncognito.com/oauth2/token",
    "UserPoolId": "eu-west-1_AbCdEf123",
    "UserPoolClientId": "client123",
    "OAuthScopes": "gw/invoke gw/read",
}


def test_the_endpoint_comes_from_the_stack_outputs() -> None:
    cfn = stubbed("cloudformation")
    with Stubber(cfn) as stub:
        stub.add_response("describe_stacks", stack_response(COGNITO_OUTPUTS), {"StackName": STACK})
        endpoint = gateway.endpoint_from_stack(cfn, STACK)
    assert endpoint == McpEndpoint(
        url=GATEWAY,
        auth="cognito",
        region="eu-west-1",
        token_endpoint=COGNITO_OUTPUTS["TokenEndpointUrl"],
        user_pool_id="eu-west-1_AbCdEf123",
        client_id="client123",
        scopes=("gw/invoke", "gw/read"),
    )


@pytest.mark.parametrize(
    ("outputs", "message"),
    [({}, "no GatewayUrl output"), ({"GatewayUrl": GATEWAY, "GatewayAuth": "kerberos"}, "kerberos"),
     ({"GatewayUrl": "file:///etc/passwd"}, "http(s) URL")],
)  # fmt: skip
def test_a_stack_without_a_usable_gateway_says_so(outputs: dict[str, str], message: str) -> None:
    cfn = stubbed("cloudformation")
    with Stubber(cfn) as stub, pytest.raises(RemoteError, match=re.escape(message)):
        stub.add_response("describe_stacks", stack_response(outputs), {"StackName": STACK})
        gateway.endpoint_from_stack(cfn, STACK)


def test_the_stack_outputs_read_here_are_the_ones_the_stack_writes() -> None:
    """The MCP stack names its outputs in stacks/mcp_outputs.py (the stacks never import
    the agent): both sides' names are the same."""
    assert gateway.STACK_OUTPUTS == mcp_outputs.STACK_OUTPUTS == tuple(COGNITO_OUTPUTS)


def test_a_client_credentials_token_from_cognito() -> None:
    cognito = stubbed("cognito-idp")
    with cognito_token_endpoint(client_id="client123", secret=SECRET, token="jwt-1") as fake:
        endpoint = McpEndpoint(
            url=GATEWAY,
            auth="cognito",
            region="eu-west-1",
            token_endpoint=fake.url,
            user_pool_id="eu-west-1_AbCdEf123",
            client_id="client123",
            scopes=("gw/invoke",),
        )
        described = {"UserPoolClient": {"ClientId": "client123", "ClientSecret": SECRET}}
        with Stubber(cognito) as stub:
            stub.add_response(
                "describe_user_pool_client",
                described,
                {"UserPoolId": "eu-west-1_AbCdEf123", "ClientId": "client123"},
            )
            assert gateway.client_credentials_token(endpoint, cognito=cognito) == "jwt-1"
        [sent] = fake.requests
        assert sent["form"] == {
            "grant_type": "client_credentials", "client_id": "client123", "scope": "gw/invoke"
        }  # fmt: skip
        wrong = {
            "UserPoolClient": {
                "ClientId": "client123",
                "ClientSecret": "stale-secret-0123456789abcdef",
            }
        }
        with Stubber(cognito) as stub, pytest.raises(RemoteError, match="refused the client"):
            stub.add_response("describe_user_pool_client", wrong)
            gateway.client_credentials_token(endpoint, cognito=cognito)


def test_tool_names_through_the_gateway() -> None:
    listed = ["stock-analyst___get_figure", "stock-analyst___compare_stocks", "x_amz_search"]
    assert resolve_tool_name("get_figure", listed) == "stock-analyst___get_figure"
    assert resolve_tool_name("x_amz_search", listed) == "x_amz_search"
    with pytest.raises(RemoteError, match="no tool 'gather'"):
        resolve_tool_name("gather", listed)
    with pytest.raises(RemoteError):
        resolve_tool_name("get_figure", [*listed, "other___get_figure"])


def test_a_bearer_token_reaches_the_tools_and_no_token_does_not(toolbox: Toolbox) -> None:
    with serve_mcp_in_thread(toolbox, wrap=require_bearer("jwt-1")) as url:
        endpoint = McpEndpoint(url=mcp_url(url), auth="cognito")
        answer = call_remote(
            endpoint, tool="get_figure", arguments={"symbol": "KO", "figure": "beta"}, token="jwt-1"
        )
        assert answer.called == "get_figure" and answer.result.is_error is False
        assert len(answer.tools) == 5
        with pytest.raises(RemoteError, match="401"):
            call_remote(endpoint, tool=None, arguments={}, token="forged")


def test_sigv4_signed_requests_pass_an_iam_check(toolbox: Toolbox) -> None:
    credentials = Credentials("AKIDEXAMPLE", "secret-key", "session-token")
    seen: list[str] = []
    check = require_sigv4(credentials=credentials, region="eu-west-1", seen=seen)
    with serve_mcp_in_thread(toolbox, wrap=check) as url:
        endpoint = McpEndpoint(url=mcp_url(url), auth="aws_iam", region="eu-west-1")
        answer = call_remote(
            endpoint,
            tool="gather_stock_data",
            arguments={"symbol": "KO"},
            credentials=credentials,
        )
        assert answer.result.structured_content["symbol"] == "KO"
        assert seen and all("/eu-west-1/bedrock-agentcore/aws4_request" in a for a in seen)
        other = Credentials("AKIDEXAMPLE", "another-secret")
        with pytest.raises(RemoteError, match="403"):
            call_remote(endpoint, tool=None, arguments={}, credentials=other)
        wrong_region = McpEndpoint(url=mcp_url(url), auth="aws_iam", region="us-east-1")
        with pytest.raises(RemoteError, match="403"):
            call_remote(wrong_region, tool=None, arguments={}, credentials=credentials)


def test_the_command_lists_calls_and_reports_a_tool_error(toolbox: Toolbox) -> None:
    with serve_mcp_in_thread(toolbox) as url:
        out = io.StringIO()
        assert main(["invoke", "--mcp", "--url", mcp_url(url)], out=out) == 0
        listed = out.getvalue().splitlines()
        assert [line.split(":")[0] for line in listed] == [
            "gather_stock_data", "analyze_stock_performance", "generate_stock_report",
            "compare_stocks", "get_figure",
        ]  # fmt: skip
        out = io.StringIO()
        argv = ["invoke", "--mcp", "get_figure", '{"symbol": "KO", "figure": "pe ratio"}']
        assert main([*argv, "--url", mcp_url(url)], out=out) == 0
        assert out.getvalue().startswith("KO (The Coca-Cola Company) P/E Ratio: ")
        out = io.StringIO()
        bad = ["invoke", "--mcp", "gather_stock_data", '{"symbol": "ZZZZ"}', "--json"]
        assert main([*bad, "--url", mcp_url(url)], out=out) == 1
        assert '"code": "unknown_ticker"' in out.getvalue()


def test_the_command_reads_the_stack_and_gets_a_token(
    toolbox: Toolbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``invoke --mcp --stack-name``: outputs, client secret, token, then the tools."""
    with (
        cognito_token_endpoint(client_id="client123", secret=SECRET, token="jwt-2") as fake,
        serve_mcp_in_thread(toolbox, wrap=require_bearer("jwt-2")) as url,
    ):
        outputs = {**COGNITO_OUTPUTS, "GatewayUrl": mcp_url(url), "TokenEndpointUrl": fake.url}
        cfn, cognito = stubbed("cloudformation"), stubbed("cognito-idp")
        clients = {"cloudformation": cfn, "cognito-idp": cognito}
        monkeypatch.setattr(boto3, "client", lambda service, **_: clients[service])
        described = {"UserPoolClient": {"ClientId": "client123", "ClientSecret": SECRET}}
        with Stubber(cfn) as cfn_stub, Stubber(cognito) as cognito_stub:
            cfn_stub.add_response("describe_stacks", stack_response(outputs), {"StackName": STACK})
            cognito_stub.add_response("describe_user_pool_client", described)
            out = io.StringIO()
            argv = ["invoke", "--mcp", "get_figure", '{"symbol": "KO", "figure": "beta"}']
            assert main([*argv, "--stack-name", STACK], out=out) == 0
        assert out.getvalue().startswith("KO (The Coca-Cola Company) Beta: ")
        assert fake.requests[0]["form"]["scope"] == "gw/invoke gw/read"
