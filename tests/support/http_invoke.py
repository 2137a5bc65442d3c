"""Invocations of the served agent over HTTP, as AgentCore passes them to the container.

``bearer`` is an unsigned JWT with a ``sub`` (AgentCore verifies the signature before
the container sees it; the local server reads the claim), ``invoke`` posts one payload
and returns the status and the JSON body (or the stream's events).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from tests.integration.conftest import RunningServer

USER_ID = "X-Amzn-Bedrock-AgentCore-Runtime-User-Id"
SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"


def bearer(sub: str) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"Bearer {part({'alg': 'none'})}.{part({'sub': sub})}.c2ln"


def invoke(
    server: RunningServer, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        server.url + "/invocations",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            body = reply.read().decode()
            status = reply.status
            kind = reply.headers.get("content-type", "")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
    if kind.startswith("text/event-stream"):
        events = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
        return status, events
    return status, json.loads(body)
