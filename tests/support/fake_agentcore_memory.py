"""AgentCore Memory's data plane as HTTP, for a real boto3 ``bedrock-agentcore`` client.

Not a mock of the saver and not a Stubber: the real client (botocore's
service model for ``bedrock-agentcore``) validates every call's parameters
and serializes it to the REST-JSON request AgentCore would receive; a
``before-send`` hook answers that request here, in AgentCore's wire format,
and botocore parses the answer with the same model. AgentCore Memory cannot
run on this machine (it is a managed service), so this is the closest test.

Implemented: ``CreateEvent`` (``POST /memories/{memoryId}/events``),
``ListEvents`` (``POST /memories/{memoryId}/actor/{actorId}/sessions/{sessionId}``,
paginated with ``maxResults``/``nextToken``) and ``DeleteEvent``. The path
identifiers are checked against the model's patterns (botocore checks types,
required members and minimum lengths, not patterns). ``fail`` makes an
operation answer with an AWS error (e.g. ``ThrottlingException``, 429).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.config import Config

REGION = "us-east-1"
MEMORY_ID = "StockAgentMemory_dev-AbCdEf1234"

_MODEL = botocore.session.get_session().get_service_model("bedrock-agentcore")
_PATTERNS = {
    name: re.compile(
        _MODEL.operation_model("ListEvents").input_shape.members[name].metadata["pattern"]
    )
    for name in ("memoryId", "actorId", "sessionId")
}
_MAX = {
    name: _MODEL.operation_model("ListEvents").input_shape.members[name].metadata.get("max")
    for name in ("memoryId", "actorId", "sessionId")
}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _response(
    url: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> AWSResponse:
    data = json.dumps(body).encode()
    return AWSResponse(
        url, status, {"content-type": "application/json", **(headers or {})}, _Raw(data)
    )


def _error(url: str, status: int, code: str, message: str) -> AWSResponse:
    return _response(url, status, {"message": message}, {"x-amzn-ErrorType": code})


@dataclass
class AgentCoreMemoryWire:
    """One memory's events, keyed by (actorId, sessionId), served over the wire format."""

    memory_id: str = MEMORY_ID
    events: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    fail: dict[str, tuple[str, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self) -> Any:
        """A real ``bedrock-agentcore`` client whose requests this fake answers."""
        client = boto3.client(
            "bedrock-agentcore",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # a fake: signed requests never leave the process
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        client.meta.events.register("before-send.bedrock-agentcore", self._handle)
        return client

    def _check_ids(self, url: str, ids: dict[str, str]) -> AWSResponse | None:
        for name, value in ids.items():
            limit = _MAX[name]
            if not _PATTERNS[name].fullmatch(value) or (limit and len(value) > limit):
                return _error(url, 400, "ValidationException", f"{name} {value!r} is invalid")
        return None

    def _handle(self, request: Any, **_: Any) -> AWSResponse:
        url = request.url
        parts = [unquote(p) for p in urlsplit(url).path.strip("/").split("/")]
        body = json.loads(request.body or b"{}")
        if request.method == "POST" and len(parts) == 3 and parts[2] == "events":
            operation = "CreateEvent"
            ids = {"memoryId": parts[1], "actorId": body["actorId"], "sessionId": body["sessionId"]}
        elif request.method == "POST" and len(parts) == 6 and parts[2] == "actor":
            operation = "ListEvents"
            ids = {"memoryId": parts[1], "actorId": parts[3], "sessionId": parts[5]}
        elif request.method == "DELETE" and len(parts) == 8:
            operation = "DeleteEvent"
            ids = {"memoryId": parts[1], "actorId": parts[3], "sessionId": parts[5]}
        else:
            return _error(url, 404, "UnknownOperationException", f"{request.method} {url}")
        self.calls.append((operation, ids))
        if operation in self.fail:
            code, status = self.fail[operation]
            return _error(url, status, code, f"{operation} failed ({code})")
        invalid = self._check_ids(url, ids)
        if invalid is not None:
            return invalid
        if ids["memoryId"] != self.memory_id:
            return _error(url, 404, "ResourceNotFoundException", "no such memory")
        key = (ids["actorId"], ids["sessionId"])
        with self._lock:
            if operation == "CreateEvent":
                stamp = datetime.fromtimestamp(float(body["eventTimestamp"]), tz=UTC)
                event = {
                    "memoryId": self.memory_id,
                    "actorId": key[0],
                    "sessionId": key[1],
                    "eventId": f"{int(stamp.timestamp() * 1000)}#{secrets.token_hex(8)}",
                    "eventTimestamp": stamp.timestamp(),
                    "payload": body["payload"],
                }
                self.events.setdefault(key, []).append(event)
                return _response(url, 201, {"event": event})
            if operation == "ListEvents":
                events = self.events.get(key, [])
                start = int(body.get("nextToken") or 0)
                size = int(body.get("maxResults") or 20)
                page = events[start : start + size]
                if not body.get("includePayloads", False):
                    page = [{k: v for k, v in e.items() if k != "payload"} for e in page]
                answer: dict[str, Any] = {"events": page}
                if start + size < len(events):
                    answer["nextToken"] = str(start + size)
                return _response(url, 200, answer)
            event_id = parts[7]
            self.events[key] = [e for e in self.events.get(key, []) if e["eventId"] != event_id]
            return _response(url, 200, {"eventId": event_id})

    def blob_bytes(self) -> int:
        """Bytes of every stored payload (what the memory holds)."""
        return sum(len(json.dumps(e["payload"])) for events in self.events.values() for e in events)
