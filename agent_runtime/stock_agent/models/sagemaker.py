"""Model client for gpt-oss-20b on a SageMaker inference component.

``sagemaker-runtime.invoke_endpoint`` with ``InferenceComponentName`` and a
chat-completions body: vLLM's ``/invocations`` routes a body with
``messages`` to its chat-completions handler (the Responses-API body of the
public sample is rejected there). Without ``InferenceComponentName`` an
inference-component endpoint rejects the call, so the name is required.

Error mapping (``ClientError`` code → :class:`ModelError` code):

=====================================================  ========================  =============
SageMaker runtime error                                code                      retried
=====================================================  ========================  =============
``ThrottlingException``                                ``model_throttled``       yes
``ModelError`` with ``OriginalStatusCode`` 429 / 5xx   throttled / server error  yes
``ModelError`` with another 4xx                        ``model_client_error``    no
``ServiceUnavailable`` / ``InternalFailure`` /         ``model_server_error``    yes
``InternalDependencyException``
read / connect timeout                                 ``model_timeout``         once
``ValidationError`` "no capacity" /                    cold start: wait up to    yes
``ModelNotReadyException``                             ``cold_start_wait_s``
other ``ValidationError``                              ``model_client_error``    no
=====================================================  ========================  =============

A component scaled to zero answers ``ValidationError`` (HTTP 400) "Inference
Component has no capacity to process this request. ApplicationAutoScaling may
be in-progress (if configured) ...". That failure is also what drives the
``NoCapacityInvocationFailures`` alarm that scales it out again, so the client
keeps asking with a bounded backoff for up to ``cold_start_wait_s`` (within
the caller's deadline), then says in :attr:`ChatResult.warnings` how long it
waited, or raises ``model_no_capacity`` when no copy came up in time.

botocore's own retries are off (``total_max_attempts=1``; note that botocore's
``max_attempts=1`` would still retry once): one policy, here, decides.

The caller's deadline bounds every attempt, too: a boto3 client's read
timeout is fixed when the client is made, so when less time is left than
that timeout the call runs in a helper thread and the caller stops waiting
at the deadline (``model_timeout``); the abandoned call ends on its own at
the client's read timeout.
"""

from __future__ import annotations

import contextvars
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..context import AgentContext
from .types import ChatResult, ModelError
from .wire import (
    RetryPolicy,
    StreamDelta,
    build_chat_body,
    call_with_retries,
    error_from_status,
    excerpt,
    iter_sse_lines,
    message_of_error_body,
    parse_chat_completion,
    parse_sse_stream,
)

logger = logging.getLogger(__name__)

NO_CAPACITY_MARKERS = ("no capacity", "insufficient capacity")
_SERVER_FAULTS = frozenset({"ServiceUnavailable", "InternalFailure", "InternalDependencyException"})


class ColdStart(ModelError):
    """The inference component has no copy running yet (scaled to zero, or still loading)."""

    def __init__(self, message: str) -> None:
        super().__init__("model_no_capacity", message)


def map_client_error(err: Exception, *, where: str) -> ModelError:
    """Translate a botocore ``ClientError`` from sagemaker-runtime into a :class:`ModelError`."""
    response: dict[str, Any] = getattr(err, "response", {}) or {}
    error = response.get("Error", {}) or {}
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or str(err)
    if code == "ThrottlingException":
        return ModelError("model_throttled", f"{where}: throttled: {message}", retryable=True)
    if code == "ModelError":
        status_raw = response.get("OriginalStatusCode", error.get("OriginalStatusCode"))
        try:
            status = int(str(status_raw))
        except ValueError:
            status = 500
        original = response.get("OriginalMessage", error.get("OriginalMessage")) or message
        log_stream = response.get("LogStreamArn")
        detail = message_of_error_body(str(original))
        text = f"{where}: the model container answered {status}: {detail}"
        if log_stream:
            text += f" (logs: {log_stream})"
        return error_from_status(status, text)
    if code in _SERVER_FAULTS:
        return ModelError("model_server_error", f"{where}: {code}: {message}", retryable=True)
    if code == "ModelNotReadyException" or (
        code == "ValidationError" and any(m in message.lower() for m in NO_CAPACITY_MARKERS)
    ):
        return ColdStart(f"{where}: {code}: {message}")
    if code == "ValidationError":
        return ModelError("model_client_error", f"{where}: {code}: {message}")
    return ModelError("model_server_error", f"{where}: {code or type(err).__name__}: {message}")


class SageMakerModelClient:
    """``invoke_endpoint`` on one inference component, with retries and cold-start waits."""

    name = "sagemaker"

    def __init__(
        self,
        *,
        endpoint_name: str,
        inference_component: str,
        client: Any | None = None,
        region: str | None = None,
        model: str | None = "model",
        timeout_s: float = 60.0,
        max_retries: int = 3,
        cold_start_wait_s: float = 120.0,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 8.0,
        cold_start_poll_s: float = 5.0,
        cold_start_poll_cap_s: float = 30.0,
        endpoint_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        for label, value in (
            ("endpoint_name", endpoint_name),
            ("inference_component", inference_component),
        ):
            if not value:
                raise ModelError("model_client_error", f"{label} must be a non-empty name")
        if timeout_s <= 0 or cold_start_wait_s < 0 or max_retries < 0:
            raise ModelError(
                "model_client_error",
                "timeout_s must be > 0, cold_start_wait_s and max_retries >= 0",
            )
        self.endpoint_name = endpoint_name
        self.inference_component = inference_component
        self.region = region
        self.model = model
        self.timeout_s = timeout_s
        self.cold_start_wait_s = cold_start_wait_s
        self.cold_start_poll_s = cold_start_poll_s
        self.cold_start_poll_cap_s = cold_start_poll_cap_s
        self.endpoint_url = endpoint_url
        self.policy = RetryPolicy(
            max_retries=max_retries, backoff_base_s=backoff_base_s, backoff_cap_s=backoff_cap_s
        )
        self._client = client
        self._sleep = sleep
        self._rng = rng

    @classmethod
    def from_context(cls, ctx: AgentContext) -> SageMakerModelClient:
        """The client the settings describe; served name ``MODEL_ADAPTER`` or ``OPENAI_MODEL``."""
        if not ctx.sagemaker_endpoint_name or not ctx.sagemaker_inference_component:
            raise ModelError(
                "model_client_error",
                "SAGEMAKER_ENDPOINT_NAME and SAGEMAKER_INFERENCE_COMPONENT must be set",
            )
        return cls(
            endpoint_name=ctx.sagemaker_endpoint_name,
            inference_component=ctx.sagemaker_inference_component,
            region=ctx.aws_region,
            model=ctx.served_model,
            timeout_s=ctx.model_timeout_seconds,
            max_retries=ctx.model_max_retries,
            cold_start_wait_s=ctx.model_cold_start_wait_seconds,
        )

    @property
    def where(self) -> str:
        return f"endpoint {self.endpoint_name}/{self.inference_component}"

    @property
    def client(self) -> Any:
        """The boto3 ``sagemaker-runtime`` client, made on first use (boto3 is slow to import)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "sagemaker-runtime",
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=Config(
                    read_timeout=self.timeout_s,
                    connect_timeout=5,
                    retries={"total_max_attempts": 1, "mode": "standard"},
                ),
            )
        return self._client

    def _call(self, operation: Callable[..., Any], body: dict[str, Any], **extra: Any) -> Any:
        """Call one runtime operation, mapping every botocore failure to a ModelError."""
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        try:
            return operation(
                EndpointName=self.endpoint_name,
                InferenceComponentName=self.inference_component,
                ContentType="application/json",
                Body=json.dumps(body).encode("utf-8"),
                **extra,
            )
        except ClientError as err:
            raise map_client_error(err, where=self.where) from None
        except (ReadTimeoutError, ConnectTimeoutError) as err:
            raise ModelError("model_timeout", f"{self.where}: {err}", retryable=True) from None
        except (EndpointConnectionError, ConnectionClosedError) as err:
            raise ModelError("model_unavailable", f"{self.where}: {err}", retryable=True) from None

    def _within(self, remaining: float | None, call: Callable[[], Any]) -> Any:
        """``call()``, but stop waiting after ``remaining`` seconds (the request deadline).

        Only when the deadline comes before the client's own read timeout; the
        abandoned call keeps its thread until that read timeout ends it.
        """
        config = getattr(getattr(self.client, "meta", None), "config", None)  # boto3 client's
        limit = getattr(config, "read_timeout", None) or self.timeout_s
        if remaining is None or remaining >= limit:
            return call()
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                outcome["value"] = call()
            except BaseException as err:  # handed to the waiting caller below
                outcome["error"] = err
            finally:
                done.set()

        worker = threading.Thread(
            target=contextvars.copy_context().run, args=(run,), name="sagemaker-call", daemon=True
        )
        worker.start()
        if not done.wait(max(remaining, 0.0)):
            raise ModelError(
                "model_timeout",
                f"{self.where}: no answer within the {remaining:.1f} s left before the "
                "request deadline",
            )
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _with_cold_start(
        self, call: Callable[[], Any], *, deadline: float | None
    ) -> tuple[Any, str | None]:
        """Run ``call``; while the component has no copy, poll for up to ``cold_start_wait_s``.

        Returns the call's result and the warning to attach when it had to wait.
        """
        started = time.monotonic()
        give_up = started + self.cold_start_wait_s
        if deadline is not None:
            give_up = min(give_up, deadline)
        polls = 0
        while True:
            try:
                result = call()
            except ColdStart as err:
                waited = time.monotonic() - started
                pause = min(self.cold_start_poll_cap_s, self.cold_start_poll_s * (2**polls))
                pause *= 0.5 + self._rng() / 2  # jitter, but never a busy loop
                if time.monotonic() + pause > give_up:
                    raise ModelError(
                        "model_no_capacity",
                        f"{self.where} has no running copy after waiting {waited:.0f} s "
                        f"(cold start; limit {self.cold_start_wait_s:.0f} s): {err.message}",
                    ) from err
                if polls == 0:
                    logger.warning(
                        "%s is scaled to zero; waiting up to %.0f s for a copy to start",
                        self.where,
                        give_up - started,
                    )
                polls += 1
                self._sleep(pause)
                continue
            if polls == 0:
                return result, None
            waited = time.monotonic() - started
            logger.info("%s answered after a %.0f s cold start", self.where, waited)
            return result, (
                f"model endpoint was scaled to zero; waited {waited:.0f} s for a copy to start"
            )

    def _retrying(
        self,
        operation: Callable[..., Any],
        body: dict[str, Any],
        *,
        deadline: float | None,
        **extra: Any,
    ) -> tuple[Any, str | None]:
        """Retry transient errors (timeouts only once) inside the cold-start wait."""
        timeouts = 0

        def attempt(remaining: float | None) -> Any:
            nonlocal timeouts
            try:
                return self._within(remaining, lambda: self._call(operation, body, **extra))
            except ModelError as err:
                if err.code == "model_timeout":
                    timeouts += 1
                    err.retryable = timeouts <= 1
                raise

        def call() -> Any:
            return call_with_retries(
                attempt,
                policy=self.policy,
                deadline=deadline,
                what=f"invoke {self.where}",
                sleep=self._sleep,
                rng=self._rng,
            )

        return self._with_cold_start(call, deadline=deadline)

    def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        tools: list[dict[str, Any]] | None = None,
        deadline: float | None = None,
    ) -> ChatResult:
        """One chat completion through ``invoke_endpoint``."""
        body = build_chat_body(
            messages, model=self.model, max_tokens=max_tokens, temperature=temperature, tools=tools
        )
        started = time.monotonic()
        response, warning = self._retrying(
            self.client.invoke_endpoint, body, deadline=deadline, Accept="application/json"
        )
        from botocore.exceptions import ReadTimeoutError

        try:
            raw = response["Body"].read()
        except ReadTimeoutError as err:
            raise ModelError("model_timeout", f"{self.where}: reading the body: {err}") from None
        except Exception as err:  # a dropped stream surfaces as several botocore/urllib3 types
            raise ModelError(
                "model_unavailable", f"{self.where}: reading the response failed: {err}"
            ) from None
        result = parse_chat_completion(raw)
        logger.info(
            "model call ok: %s in %.2f s, %d prompt + %d completion tokens, finish=%s",
            self.where,
            time.monotonic() - started,
            result.usage.prompt_tokens,
            result.usage.completion_tokens,
            result.finish_reason,
        )
        if warning:
            result = ChatResult(
                content=result.content,
                reasoning=result.reasoning,
                tool_calls=result.tool_calls,
                finish_reason=result.finish_reason,
                usage=result.usage,
                model=result.model,
                warnings=(*result.warnings, warning),
            )
        return result

    def stream_chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        tools: list[dict[str, Any]] | None = None,
        deadline: float | None = None,
    ) -> Iterator[StreamDelta]:
        """Stream one chat completion through ``invoke_endpoint_with_response_stream``.

        ``PayloadPart`` bytes are the container's SSE text cut at arbitrary
        points; they are re-split into lines and parsed like a direct vLLM
        stream. ``ModelStreamError`` / ``InternalStreamFailure`` events raise
        ``model_server_error``.
        """
        body = build_chat_body(
            messages,
            model=self.model,
            max_tokens=max_tokens,
            temperature=temperature,
            tools=tools,
            stream=True,
        )
        response, _warning = self._retrying(
            self.client.invoke_endpoint_with_response_stream,
            body,
            deadline=deadline,
            Accept="text/event-stream",
        )
        yield from parse_sse_stream(iter_sse_lines(self._payload_parts(response["Body"])))

    def _payload_parts(self, events: Any) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            for event in events:
                if "PayloadPart" in event:
                    yield event["PayloadPart"].get("Bytes", b"")
                    continue
                for name in ("ModelStreamError", "InternalStreamFailure"):
                    if name in event:
                        raise ModelError(
                            "model_server_error", f"{self.where}: {name}: {excerpt(event[name])}"
                        )
        except ClientError as err:  # botocore raises exception events as EventStreamError
            raise map_client_error(err, where=self.where) from None
