"""What stands in for AWS's authorizers in front of the MCP tools (no AWS account here).

- :func:`cognito_token_endpoint`: a loopback OAuth2 token endpoint speaking Cognito's
  wire format for the client-credentials grant (``POST`` form
  ``grant_type=client_credentials`` [``scope``], HTTP Basic ``client_id:secret``;
  ``{"access_token", "expires_in", "token_type": "Bearer"}``, or ``400
  {"error": "invalid_client"}``);
- :func:`require_bearer`: ASGI middleware admitting only ``Authorization: Bearer <token>``
  (``401`` otherwise), as a gateway's JWT authorizer does;
- :func:`require_sigv4`: ASGI middleware recomputing each request's SigV4 signature
  (service ``bedrock-agentcore``) with botocore's signer from the same credentials and
  refusing (``403``) a request whose signature, date, region or service do not match,
  as IAM does.

``/ping`` passes both middlewares: AgentCore's health probe is not the caller's.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class TokenEndpoint:
    url: str
    client_id: str
    secret: str
    token: str
    requests: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def cognito_token_endpoint(*, client_id: str, secret: str, token: str) -> Iterator[TokenEndpoint]:
    state = TokenEndpoint(url="", client_id=client_id, secret=secret, token=token)
    expected = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            state.requests.append({"form": form, "authorization": self.headers["Authorization"]})
            ok = (
                self.path == "/oauth2/token"
                and self.headers.get("Authorization") == expected
                and form.get("grant_type") == "client_credentials"
                and self.headers.get("Content-Type") == "application/x-www-form-urlencoded"
            )
            body = (
                {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
                if ok
                else {"error": "invalid_client"}
            )
            data = json.dumps(body).encode()
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/oauth2/token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


async def _refuse(send: Any, status: int, reason: str) -> None:
    body = json.dumps({"message": reason}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _headers(scope: Any) -> dict[str, str]:
    return {k.decode().lower(): v.decode() for k, v in scope["headers"]}


def require_bearer(token: str) -> Any:
    def wrap(app: Any) -> Any:
        async def guarded(scope: Any, receive: Any, send: Any) -> None:
            if (
                scope["type"] == "http"
                and scope["path"] != "/ping"
                and _headers(scope).get("authorization") != f"Bearer {token}"
            ):
                await _refuse(send, 401, "missing or wrong bearer token")
                return
            await app(scope, receive, send)

        return guarded

    return wrap


def require_sigv4(*, credentials: Any, region: str, seen: list[str]) -> Any:
    """Checks each signature with botocore's own signer; ``seen`` collects the Authorization
    headers it accepted."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    def wrap(app: Any) -> Any:
        async def guarded(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http" or scope["path"] == "/ping":
                await app(scope, receive, send)
                return
            body = b""
            more = True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
            headers = _headers(scope)
            authorization = headers.get("authorization", "")
            query = scope.get("query_string", b"").decode()
            url = f"http://{headers['host']}{scope['path']}" + (f"?{query}" if query else "")
            signer = SigV4Auth(credentials, "bedrock-agentcore", region)
            try:  # only the headers the caller signed, as IAM reads them
                signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
                request = AWSRequest(
                    method=scope["method"],
                    url=url,
                    data=body,
                    headers={name: headers[name] for name in signed},
                )
                request.context["timestamp"] = headers["x-amz-date"]
                canonical = signer.canonical_request(request)
                string = signer.string_to_sign(request, canonical)
                expected = signer.signature(string, request)
            except (IndexError, KeyError, ValueError):
                expected, signed = "", []
            scope_part = f"/{region}/bedrock-agentcore/aws4_request"
            if not (
                expected
                and authorization.startswith("AWS4-HMAC-SHA256 ")
                and f"Signature={expected}" in authorization
                and scope_part in authorization
                and {"host", "x-amz-date"} <= set(signed)
            ):
                await _refuse(send, 403, "signature does not match")
                return
            seen.append(authorization)
            replayed = False

            async def replay() -> Any:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await app(scope, replay, send)

        return guarded

    return wrap
