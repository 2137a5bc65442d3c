"""Calling the deployed tools: the MCP client of ``stock-agent invoke --mcp``.

The deployed tools sit behind an AgentCore Gateway (its MCP endpoint is
``https://<id>.gateway.bedrock-agentcore.<region>.amazonaws.com/mcp``), or run
anywhere that serves them (``stock-agent mcp --http``). How a call is
authorized depends on the gateway's inbound authorizer:

- ``cognito`` (the default): an OAuth2 client-credentials token from the
  gateway's Cognito user pool. With ``--stack-name`` the client reads the
  token endpoint, pool, client and scopes from the stack's outputs, fetches
  the client's secret with the caller's AWS credentials
  (``cognito-idp:DescribeUserPoolClient``) and asks the token endpoint for a
  token; ``--token`` gives one instead;
- ``aws_iam``: every request is signed with SigV4 (service
  ``bedrock-agentcore``) with the caller's AWS credentials;
- ``none``: a local server, nothing to add.

Through the gateway each tool is named ``<target>___<tool>``; a bare tool
name (``get_figure``) is matched to the one listed tool that ends with it.
"""

from __future__ import annotations

import base64
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .. import bounded_json
from ..client.remote import RemoteError, stack_outputs

# The MCP stack's outputs this client reads (pinned equal to stacks/ by a test).
OUTPUT_GATEWAY_URL = "GatewayUrl"
OUTPUT_GATEWAY_AUTH = "GatewayAuth"
OUTPUT_TOKEN_ENDPOINT = "TokenEndpointUrl"  # noqa: S105 - an output name, not a secret
OUTPUT_USER_POOL_ID = "UserPoolId"
OUTPUT_USER_POOL_CLIENT_ID = "UserPoolClientId"
OUTPUT_OAUTH_SCOPES = "OAuthScopes"
STACK_OUTPUTS = (
    OUTPUT_GATEWAY_URL,
    OUTPUT_GATEWAY_AUTH,
    OUTPUT_TOKEN_ENDPOINT,
    OUTPUT_USER_POOL_ID,
    OUTPUT_USER_POOL_CLIENT_ID,
    OUTPUT_OAUTH_SCOPES,
)
DEFAULT_MCP_STACK_NAME = "GptOssAgent-dev-Mcp"
SIGNING_SERVICE = "bedrock-agentcore"
GatewayAuth = Literal["cognito", "aws_iam", "none"]
GATEWAY_AUTHS: tuple[GatewayAuth, ...] = ("cognito", "aws_iam", "none")
TOKEN_TIMEOUT_S = 15.0
# Gateway tool names: "<target>___<tool>" (three underscores).
TARGET_SEPARATOR = "___"
_REFUSALS = {
    401: "no valid token: pass --token, or check the stack's Cognito client",
    403: "not authorized: check the credentials, the region and the signature",
    404: "no MCP endpoint at this URL",
}
_REGION_IN_HOST = re.compile(r"\.bedrock-agentcore\.([a-z0-9-]+)\.amazonaws\.com$")


@dataclass(frozen=True)
class McpEndpoint:
    """Where the tools are served and how a request is authorized."""

    url: str
    auth: GatewayAuth
    region: str | None = None
    token_endpoint: str | None = None
    user_pool_id: str | None = None
    client_id: str | None = None
    scopes: tuple[str, ...] = ()


def _http_url(url: str, *, what: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise RemoteError(f"{what} must be an http(s) URL, not {url[:80]!r}", exit_code=2)
    return url


def region_of(url: str) -> str | None:
    """``us-east-1`` from a gateway URL's host name, when it is one."""
    host = urllib.parse.urlsplit(url).hostname or ""
    match = _REGION_IN_HOST.search(host)
    return match.group(1) if match else None


def endpoint_from_stack(cfn: Any, stack_name: str) -> McpEndpoint:
    """The gateway of the MCP stack ``stack_name``, from its outputs."""
    outputs = stack_outputs(cfn, stack_name)
    url = outputs.get(OUTPUT_GATEWAY_URL)
    if not url:
        raise RemoteError(
            f"stack {stack_name} has no {OUTPUT_GATEWAY_URL} output (is the gateway on for "
            "this stage? see docs/mcp.md)"
        )
    auth = outputs.get(OUTPUT_GATEWAY_AUTH, "cognito")
    if auth not in GATEWAY_AUTHS:
        raise RemoteError(f"stack {stack_name}: {OUTPUT_GATEWAY_AUTH} {auth!r} is not one of "
                          f"{', '.join(GATEWAY_AUTHS)}")  # fmt: skip
    scopes = tuple(s for s in outputs.get(OUTPUT_OAUTH_SCOPES, "").split() if s)
    return McpEndpoint(
        url=_http_url(url, what=OUTPUT_GATEWAY_URL),
        auth=auth,
        region=region_of(url),
        token_endpoint=outputs.get(OUTPUT_TOKEN_ENDPOINT),
        user_pool_id=outputs.get(OUTPUT_USER_POOL_ID),
        client_id=outputs.get(OUTPUT_USER_POOL_CLIENT_ID),
        scopes=scopes,
    )


def client_credentials_token(endpoint: McpEndpoint, *, cognito: Any) -> str:
    """An access token for the gateway: the app client's secret, then the OAuth2
    client-credentials grant at the pool's token endpoint."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not (endpoint.token_endpoint and endpoint.user_pool_id and endpoint.client_id):
        raise RemoteError(
            "the stack names no Cognito token endpoint, user pool and client; pass --token"
        )
    try:
        described = cognito.describe_user_pool_client(
            UserPoolId=endpoint.user_pool_id, ClientId=endpoint.client_id
        )
    except (BotoCoreError, ClientError) as err:
        raise RemoteError(f"cannot read the gateway's Cognito client: {err}") from None
    secret = described["UserPoolClient"].get("ClientSecret")
    if not secret:
        raise RemoteError("the gateway's Cognito client has no secret; pass --token")
    basic = base64.b64encode(f"{endpoint.client_id}:{secret}".encode()).decode()
    form = {"grant_type": "client_credentials", "client_id": endpoint.client_id}
    if endpoint.scopes:
        form["scope"] = " ".join(endpoint.scopes)
    # The token endpoint comes from our own stack's outputs, checked to be http(s).
    request = urllib.request.Request(  # noqa: S310
        _http_url(endpoint.token_endpoint, what=OUTPUT_TOKEN_ENDPOINT),
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TOKEN_TIMEOUT_S) as reply:  # noqa: S310
            body = bounded_json.loads(reply.read(64 * 1024))
    except urllib.error.HTTPError as err:
        raise RemoteError(f"the token endpoint refused the client ({err.code})") from None
    except (OSError, ValueError) as err:
        raise RemoteError(f"cannot get a token from {endpoint.token_endpoint}: {err}") from None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise RemoteError("the token endpoint answered without an access_token")
    return token


def sigv4_auth(*, credentials: Any, region: str) -> Any:
    """An ``httpx2`` auth that signs each request with SigV4 for ``bedrock-agentcore``."""
    import httpx2
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    class SigV4(httpx2.Auth):
        requires_request_body = True

        def auth_flow(
            self, request: httpx2.Request
        ) -> Generator[httpx2.Request, httpx2.Response, None]:
            unsigned = AWSRequest(
                method=request.method,
                url=str(request.url),
                data=request.content,
                headers={"Content-Type": request.headers.get("content-type", "")},
            )
            SigV4Auth(credentials, SIGNING_SERVICE, region).add_auth(unsigned)
            for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
                if name in unsigned.headers:
                    request.headers[name] = unsigned.headers[name]
            yield request

    return SigV4()


@dataclass(frozen=True)
class RemoteToolResult:
    """What a remote call returned: the listed tools, or one call's result."""

    tools: Sequence[Any] = ()
    called: str | None = None
    result: Any = None


def resolve_tool_name(asked: str, listed: Sequence[str]) -> str:
    """``asked`` as listed, or the one gateway name ``<target>___<asked>``."""
    if asked in listed:
        return asked
    matches = [name for name in listed if name.endswith(TARGET_SEPARATOR + asked)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(listed)
    raise RemoteError(f"no tool {asked!r} here (or more than one); the tools are: {known}")


async def _session(
    url: str,
    *,
    headers: Mapping[str, str],
    auth: Any,
    tool: str | None,
    arguments: Mapping[str, Any],
    timeout: float,
    refusals: list[int],
) -> RemoteToolResult:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def remember_refusal(response: httpx2.Response) -> None:
        if response.status_code >= 400:  # the SDK keeps only "an error response"
            refusals.append(response.status_code)

    http = httpx2.AsyncClient(
        headers=dict(headers),
        auth=auth,
        timeout=httpx2.Timeout(timeout, connect=10.0),
        event_hooks={"response": [remember_refusal]},
    )
    async with http, Client(streamable_http_client(url, http_client=http), mode="legacy") as c:
        tools = (await c.list_tools()).tools
        if tool is None:
            return RemoteToolResult(tools=tools)
        name = resolve_tool_name(tool, [t.name for t in tools])
        return RemoteToolResult(
            tools=tools, called=name, result=await c.call_tool(name, dict(arguments))
        )


def call_remote(
    endpoint: McpEndpoint,
    *,
    tool: str | None,
    arguments: Mapping[str, Any],
    token: str | None = None,
    credentials: Any = None,
    timeout: float = 360.0,
) -> RemoteToolResult:
    """List the tools at ``endpoint``, and call ``tool`` when one is named.

    ``token`` is a bearer token (Cognito); ``credentials`` botocore credentials
    to sign with (IAM). Connection and protocol failures are :class:`RemoteError`.
    """
    import anyio

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    auth = None
    if endpoint.auth == "aws_iam":
        if credentials is None or not endpoint.region:
            raise RemoteError("signing needs AWS credentials and the gateway's region (--region)")
        auth = sigv4_auth(credentials=credentials, region=endpoint.region)

    refusals: list[int] = []

    async def run() -> RemoteToolResult:
        return await _session(
            _http_url(endpoint.url, what="the MCP URL"),
            headers=headers,
            auth=auth,
            tool=tool,
            arguments=arguments,
            timeout=timeout,
            refusals=refusals,
        )

    try:
        return anyio.run(run)
    except Exception as err:  # the transport's and the protocol's failures, on one line
        leaf = _leaf(err)
        if isinstance(leaf, RemoteError):
            raise leaf from None
        why = f"{type(leaf).__name__}: {str(leaf)[:300]}"
        if refusals:
            why = f"HTTP {refusals[-1]} ({_REFUSALS.get(refusals[-1], why)})"
        raise RemoteError(f"MCP call to {endpoint.url} failed: {why}") from None


def _leaf(err: BaseException) -> BaseException:
    """The innermost failure of a (task-group) exception group."""
    while isinstance(err, BaseExceptionGroup) and err.exceptions:
        err = err.exceptions[0]
    return err
