"""Calling a deployed agent runtime or a local server, and reading its answer.

The client half of ``stock-agent invoke``: :func:`invoke` sends one prompt to a
local server (``--url``, through :mod:`.invoke_http`) or to a deployed
AgentCore runtime (``invoke_agent_runtime``; the ARN given or read from the
runtime stack's outputs), and :func:`render_invoke_body` turns whatever came
back into the three sections of the answer.

It does not trust the server: the time limit is a total, the answer is
capped at ``max_bytes``, and :func:`render_invoke_body` survives what the
public sample's parser did not: a missing section, an error body, a non-JSON
or non-object body, or a stream of server-sent events (one that ends before
its result event exits 1, naming what is missing), or JSON nested deeper than
:data:`~stock_agent.bounded_json.MAX_JSON_DEPTH` (shown as received, never a
``RecursionError``). ``--user-id`` is checked by the server's own rule before
anything is sent. Printing it safely is the caller's
(:func:`.invoke_http.terminal_safe`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from .. import bounded_json
from ..contract import SECTION_TITLES
from ..memory.checkpoints import user_id_problem
from .invoke_http import DEFAULT_MAX_RESPONSE_BYTES, InvokeFailure, post_json

DEFAULT_STACK_NAME = "GptOssAgent-dev-Runtime"
DEFAULT_QUALIFIER = "DEFAULT"
# Above the deployed REQUEST_DEADLINE_SECONDS (300 s) with a margin for the work that
# follows a late model (fallback narrative, PDF, upload); below AgentCore's 900 s cut-off.
INVOKE_READ_TIMEOUT_S = 360
INVOKE_CONNECT_TIMEOUT_S = 10
MIN_SESSION_ID_CHARS = 33  # AgentCore's runtimeSessionId minimum


class RemoteError(Exception):
    """A failed call, said in one line; ``exit_code`` 2 = the caller's options or AWS
    configuration, 1 = a failure at run time."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def _sse_events(text: str) -> list[Any]:
    """The JSON values of the ``data:`` lines of a server-sent-events body."""
    events = []
    for line in text.splitlines():
        if line.startswith("data:"):
            try:
                events.append(bounded_json.loads(line[5:].strip()))
            except ValueError:
                events.append(line[5:].strip())
    return events


def render_invoke_body(body: bytes | str | None, *, content_type: str = "") -> tuple[str, int]:
    """Human-readable text of an agent's answer and the exit code it deserves.

    Never raises: a body that is not what we expect is shown as it is, with a
    note, so a person can still read whatever the runtime sent.
    """
    if body is None:
        return "(empty response)\n", 1
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
    if not text.strip():
        return "(empty response)\n", 1
    value: Any
    if "text/event-stream" in content_type or text.lstrip().startswith("data:"):
        events = _sse_events(text)
        value = next(
            (
                e
                for e in reversed(events)
                if isinstance(e, dict) and e.get("event") in ("result", "error")
            ),
            None,
        )
        if value is None:
            return _truncated_stream(events), 1
    else:
        try:
            value = bounded_json.loads(text)
        except ValueError:
            return f"(the response is not JSON; shown as received)\n{text.rstrip()}\n", 1
    if isinstance(value, str):
        # Some runtimes wrap the JSON answer in a JSON string.
        try:
            value = bounded_json.loads(value)
        except ValueError:
            return value.rstrip() + "\n", 0
    if not isinstance(value, dict):
        return f"(unexpected response, shown as received)\n{text.rstrip()}\n", 1
    error = value.get("error")
    if error is not None:
        if isinstance(error, dict):
            return f"error {error.get('code', '?')}: {error.get('message', '')}\n", 1
        return f"error: {error}\n", 1
    return _render_sections(value), 0


def _truncated_stream(events: list[Any]) -> str:
    """What a stream cut off before its result event did deliver, and what is missing."""
    stages = [
        f"{e.get('stage')}{' ' + str(e['symbol']) if e.get('symbol') else ''}"
        for e in events
        if isinstance(e, dict) and e.get("event") == "stage"
    ]
    last = f"; the last was {stages[-1]}" if stages else ""
    return (
        "(the stream ended before its result event: no answer and no error arrived; "
        f"{len(events)} progress event(s){last})\n"
    )


def _shaped_for_the_user(response: dict[str, Any]) -> bool:
    """The server shaped the text by the user's stated preferences (brief, a risk note):
    its ``text`` is the answer, not a re-rendering of the sections."""
    user = response.get("user")
    preferences = user.get("preferences") if isinstance(user, dict) else None
    return isinstance(preferences, dict) and bool(
        {"answer_length", "risk_profile"} & set(preferences)
    )


def _render_sections(response: dict[str, Any]) -> str:
    """The three sections, from each result's ``sections``; missing ones are named."""
    results = response.get("results")
    if not isinstance(results, list) or not results or _shaped_for_the_user(response):
        text = response.get("text")
        if isinstance(text, str) and text.strip():
            return text if text.endswith("\n") else text + "\n"
        return "(no results in the response)\n" + json.dumps(response, indent=2)[:2000] + "\n"
    blocks = []
    multi = len(results) > 1
    for name, title in SECTION_TITLES.items():
        parts = [f"{title}:\n" + "=" * 40]
        for result in results:
            result_dict = result if isinstance(result, dict) else {}
            symbol = str(result_dict.get("symbol", "?"))
            sections = result_dict.get("sections")
            body = sections.get(name) if isinstance(sections, dict) else None
            if not isinstance(body, str) or not body.strip():
                body = f"(section missing for {symbol})"
            parts.append(f"--- {symbol} ---\n{body}" if multi else body)
        blocks.append("\n".join(parts))
    comparison = response.get("comparison")
    if isinstance(comparison, dict):
        raw_report = comparison.get("report")
        report: dict[str, Any] = raw_report if isinstance(raw_report, dict) else {}
        blocks.append(
            "COMPARISON:\n" + "=" * 40 + f"\n{comparison.get('narrative', '')}\n"
            f"Comparison report: {report.get('url') or report.get('uri', '(none)')}"
        )
    warnings = response.get("warnings")
    if isinstance(warnings, list) and warnings:
        blocks.append("WARNINGS:\n" + "\n".join(f"- {w}" for w in warnings))
    if response.get("degraded"):
        blocks.append(f"DEGRADED: {response.get('degraded_reason') or 'yes'}")
    return "\n\n".join(blocks) + "\n"


def _invoke_url(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float,
    max_bytes: int,
    user_id: str | None = None,
) -> tuple[bytes, str]:
    if not url.startswith(("http://", "https://")):
        raise RemoteError(f"--url {url!r} is not an http(s) URL", exit_code=2)
    try:
        reply = post_json(url, payload, timeout_s=timeout, max_bytes=max_bytes, user_id=user_id)
    except InvokeFailure as err:
        raise RemoteError(err.message) from None
    return reply.body, reply.content_type


def stack_outputs(cfn: Any, stack_name: str) -> dict[str, str]:
    """A deployed stack's outputs, by key; ``RemoteError`` when it cannot be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except (BotoCoreError, ClientError) as err:
        raise RemoteError(f"cannot read stack {stack_name}: {err}") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def runtime_from_stack(cfn: Any, stack_name: str) -> tuple[str, str | None]:
    """The runtime ARN and endpoint name of the runtime stack ``stack_name``."""
    outputs = stack_outputs(cfn, stack_name)
    arn = outputs.get("RuntimeArn")
    if not arn:
        raise RemoteError(f"stack {stack_name} has no RuntimeArn output")
    return arn, outputs.get("RuntimeEndpointName")


def runtime_client(*, region: str | None, read_timeout: float = INVOKE_READ_TIMEOUT_S) -> Any:
    """A ``bedrock-agentcore`` client with explicit timeouts (botocore's default read is 60 s)."""
    import boto3
    from botocore.config import Config

    config = Config(
        read_timeout=max(read_timeout, INVOKE_READ_TIMEOUT_S),
        connect_timeout=INVOKE_CONNECT_TIMEOUT_S,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    return boto3.client("bedrock-agentcore", region_name=region, config=config)


def invoke_runtime(
    client: Any,
    *,
    arn: str,
    payload: dict[str, Any],
    qualifier: str,
    session_id: str,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    user_id: str | None = None,
) -> tuple[bytes, str]:
    """Call ``invoke_agent_runtime``; the whole body (at most ``max_bytes``) and its type."""
    from botocore.exceptions import BotoCoreError, ClientError

    extra = {"runtimeUserId": user_id} if user_id else {}
    try:
        response = client.invoke_agent_runtime(
            agentRuntimeArn=arn,
            runtimeSessionId=session_id,
            payload=json.dumps(payload),
            qualifier=qualifier,
            contentType="application/json",
            accept="application/json",
            **extra,
        )
        body = response.get("response")
        data = body.read(max_bytes + 1) if hasattr(body, "read") else body
    except (BotoCoreError, ClientError) as err:
        raise RemoteError(f"invoke_agent_runtime failed: {err}") from None
    if isinstance(data, str):
        data = data.encode()
    if data and len(data) > max_bytes:
        raise RemoteError(f"the response is larger than the {max_bytes}-byte limit (--max-bytes)")
    return (data or b""), str(response.get("contentType", ""))


def _within_total(seconds: float, call: Callable[[], Any]) -> Any:
    """``call()`` in a helper thread, for ``seconds`` in total (botocore times each read)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as err:  # handed to the caller below
            outcome["error"] = err

    worker = threading.Thread(target=run, name="invoke-runtime", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise RemoteError(f"no complete answer within the {seconds:g} s limit")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def invoke(
    prompt: str,
    *,
    url: str | None = None,
    runtime_arn: str | None = None,
    stack_name: str | None = None,
    qualifier: str | None = None,
    region: str | None = None,
    session_id: str,
    user_id: str | None = None,
    timeout: float = INVOKE_READ_TIMEOUT_S,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> tuple[bytes, str]:
    """Send ``prompt`` to a local server (``url``) or a deployed runtime; the body and its type.

    Without ``url`` the runtime is ``runtime_arn``, else the ``RuntimeArn`` output
    of ``stack_name`` (default :data:`DEFAULT_STACK_NAME`), whose endpoint name is
    the qualifier unless ``qualifier`` is given.
    """
    if len(session_id) < MIN_SESSION_ID_CHARS:
        raise RemoteError(
            f"--session-id must have at least {MIN_SESSION_ID_CHARS} characters", exit_code=2
        )
    if max_bytes < 1:
        raise RemoteError("--max-bytes must be a positive number of bytes", exit_code=2)
    if user_id is not None and (problem := user_id_problem(user_id)):
        # The server's own rule: what it would refuse is refused here, before sending.
        raise RemoteError(f"--user-id: {problem}", exit_code=2)
    payload = {"prompt": prompt, "session_id": session_id}
    if url:
        return _invoke_url(url, payload, timeout=timeout, max_bytes=max_bytes, user_id=user_id)
    import boto3
    from botocore.exceptions import BotoCoreError

    arn = runtime_arn
    try:
        if not arn:
            cfn = boto3.client("cloudformation", region_name=region)
            arn, stack_qualifier = runtime_from_stack(cfn, stack_name or DEFAULT_STACK_NAME)
            qualifier = qualifier or stack_qualifier
        client = runtime_client(region=region, read_timeout=timeout)
    except BotoCoreError as err:  # no region, no credentials configuration, ...
        raise RemoteError(f"AWS is not configured: {err}", exit_code=2) from None
    return _within_total(
        timeout,
        lambda: invoke_runtime(
            client,
            arn=arn,
            payload=payload,
            qualifier=qualifier or DEFAULT_QUALIFIER,
            session_id=session_id,
            max_bytes=max_bytes,
            user_id=user_id,
        ),
    )
