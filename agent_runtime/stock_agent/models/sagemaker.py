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
the request's deadline), then says in :attr:`ChatResult.warnings` how long it
waited, or raises ``model_no_capacity`` when no copy came up in time.

botocore's own retries are off (``total_max_attempts=1``; note that botocore's
``max_attempts=1`` would still retry once): one policy, here, decides.

The request's deadline bounds every attempt in total, the body read
included: a boto3 client's read timeout is per read and fixed when the
client is made, so with a deadline the call and the body read run in a
helper thread and the caller stops waiting at the deadline
(``model_timeout``); the abandoned call ends on its own at the client's read
timeout (SageMaker itself ends an invocation after 60 s).

Cold starts after scale-to-zero take minutes (a GPU instance plus the
container: about 8-14). The client remembers since when the component has
had no copy, :meth:`SageMakerModelClient.wake` sends one tiny request in
the background (it is what makes the ``NoCapacityInvocationFailures`` alarm
scale the component out), :meth:`SageMakerModelClient.starting_eta_s`
estimates how long is left, and while it waits it reports "the model is
starting, about N minutes" as a progress event of the current request.
"""

from __future__ import annotations

import contextvars
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..deadline import current_deadline, emit_progress
from ..settings import AgentSettings
from .types import CallProfile, ChatResult, ModelError, Turn
from .wire import (
    MAX_RESPONSE_BYTES,
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
# An instance plus the vLLM container take about 8-14 minutes after scale-to-zero.
DEFAULT_COLD_START_ESTIMATE_S = 11 * 60.0
# The wake-up request: the smallest body vLLM's chat handler takes.
WAKE_PROBE_TEXT = "wake-up probe: answer with one token"
WAKE_PROFILE = CallProfile(
    purpose="wake_probe", system_prompt=None, max_tokens=1, temperature=0.0, reasoning_effort="low"
)
# Scale-in to zero needs a long idle period; a model that answered this recently is up.
KNOWN_WARM_FOR_S = 300.0


def is_wake_probe(body: Any) -> bool:
    """Whether a chat body is :meth:`SageMakerModelClient.wake`'s probe."""
    messages = body.get("messages") if isinstance(body, dict) else None
    return (
        isinstance(messages, list)
        and len(messages) == 1
        and isinstance(messages[0], dict)
        and messages[0].get("content") == WAKE_PROBE_TEXT
    )


_SERVER_FAULTS = frozenset({"ServiceUnavailable", "InternalFailure", "InternalDependencyException"})


def model_starting_event(eta_s: float) -> dict[str, Any]:
    """The progress event a streaming caller sees while the model starts."""
    minutes = max(1, round(eta_s / 60))
    return {
        "event": "model_status",
        "status": "starting",
        "message": f"the model is starting after scale-to-zero, about {minutes} minutes",
        "eta_s": round(eta_s),
    }


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
        cold_start_estimate_s: float = DEFAULT_COLD_START_ESTIMATE_S,
        wake_probe: bool = True,
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
        self.cold_start_estimate_s = cold_start_estimate_s
        # time.monotonic() when the component was first seen without a copy; None = warm.
        self._cold_since: float | None = None
        # time.monotonic() of the last answer; a model that answered lately needs no wake-up.
        self._warm_at: float | None = None
        self._state_lock = threading.Lock()
        self._waking = False
        self.wake_probe = wake_probe

    # -- cold start bookkeeping

    def _mark(self, *, cold: bool) -> None:
        with self._state_lock:
            if not cold:
                self._cold_since = None
                self._warm_at = time.monotonic()
            else:
                self._warm_at = None
                if self._cold_since is None:
                    self._cold_since = time.monotonic()

    def starting_eta_s(self) -> float | None:
        """Seconds until a copy should be up, when the component is known to be starting."""
        with self._state_lock:
            since = self._cold_since
        if since is None:
            return None
        return max(60.0, since + self.cold_start_estimate_s - time.monotonic())

    def wake(self) -> None:
        """Send one tiny request in a background thread, so a scaled-to-zero component starts.

        Fire and forget: at most one in flight; its outcome only updates the
        cold-start bookkeeping. Called at the start of every request that
        will need the model, so the copy starts while the data is gathered.
        """
        with self._state_lock:
            recently_warm = (
                self._warm_at is not None and time.monotonic() - self._warm_at < KNOWN_WARM_FOR_S
            )
            if self._waking or recently_warm or not self.wake_probe:
                return
            self._waking = True
        body = build_chat_body(
            WAKE_PROFILE, [{"role": "user", "content": WAKE_PROBE_TEXT}], model=self.model
        )

        def run() -> None:
            try:
                self._call(self.client.invoke_endpoint, body, Accept="application/json")
                self._mark(cold=False)
            except ColdStart:
                self._mark(cold=True)
                logger.warning(
                    "%s has no running copy; the wake-up request asked for one", self.where
                )
            except Exception as err:  # the real call will report it properly
                logger.info("wake-up request to %s failed: %s", self.where, err)
            finally:
                with self._state_lock:
                    self._waking = False

        threading.Thread(target=run, name="sagemaker-wake", daemon=True).start()

    @classmethod
    def from_settings(cls, ctx: AgentSettings) -> SageMakerModelClient:
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
            mapped = map_client_error(err, where=self.where)
            if isinstance(mapped, ColdStart):
                self._mark(cold=True)
            raise mapped from None
        except (ReadTimeoutError, ConnectTimeoutError) as err:
            raise ModelError("model_timeout", f"{self.where}: {err}", retryable=True) from None
        except (EndpointConnectionError, ConnectionClosedError) as err:
            raise ModelError("model_unavailable", f"{self.where}: {err}", retryable=True) from None

    def _within(self, remaining: float | None, call: Callable[[], Any]) -> Any:
        """``call()``, but stop waiting after ``remaining`` seconds (the request deadline).

        ``call`` includes reading the body, so the limit is a total; the
        abandoned call keeps its thread until the client's read timeout ends it.
        """
        if remaining is None:
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
        self,
        call: Callable[[], Any],
        *,
        deadline: float | None,
        max_wait_s: float | None = None,
    ) -> tuple[Any, str | None]:
        """Run ``call``; while the component has no copy, poll for up to ``cold_start_wait_s``.

        ``max_wait_s`` lowers that limit for one call (0: do not wait). Every
        poll reports the estimated time left as a progress event. Returns the
        call's result and the warning to attach when it had to wait.
        """
        started = time.monotonic()
        limit = (
            self.cold_start_wait_s
            if max_wait_s is None
            else min(max_wait_s, self.cold_start_wait_s)
        )
        give_up = started + limit
        if deadline is not None:
            give_up = min(give_up, deadline)
        polls = 0
        last_cold: ColdStart | None = None
        while True:
            try:
                if last_cold is not None and time.monotonic() >= give_up:
                    raise last_cold  # a late wake-up: still no copy, not a lost deadline
                try:
                    result = call()
                except ModelError as err:
                    # The deadline passed while the component had no copy (between the
                    # check above and the attempt, or inside the attempt's own retry on
                    # a loaded host): the caller was waiting for a copy, so say that.
                    cold = err.__cause__ if isinstance(err.__cause__, ColdStart) else last_cold
                    if err.code == "deadline_exceeded" and cold is not None:
                        raise cold from err
                    raise
            except ColdStart as err:
                last_cold = err
                waited = time.monotonic() - started
                eta = self.starting_eta_s() or self.cold_start_estimate_s
                pause = min(self.cold_start_poll_cap_s, self.cold_start_poll_s * (2**polls))
                pause *= 0.5 + self._rng() / 2  # jitter, but never a busy loop
                if time.monotonic() + pause >= give_up:
                    raise ModelError(
                        "model_no_capacity",
                        f"{self.where} has no running copy after waiting {waited:.0f} s "
                        f"(cold start; limit {limit:.0f} s; about {eta / 60:.0f} min to go): "
                        f"{err.message}",
                        retry_after=eta,
                    ) from err
                emit_progress(model_starting_event(eta))
                if polls == 0:
                    logger.warning(
                        "%s is scaled to zero; waiting up to %.0f s for a copy to start",
                        self.where,
                        give_up - started,
                    )
                polls += 1
                self._sleep(pause)
                continue
            self._mark(cold=False)
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
        max_wait_s: float | None = None,
        read_body: bool = False,
        **extra: Any,
    ) -> tuple[Any, str | None]:
        """Retry transient errors (timeouts only once) inside the cold-start wait.

        With ``read_body`` the attempt also reads the whole body, so the
        deadline bounds both.
        """
        timeouts = 0

        def attempt(remaining: float | None) -> Any:
            nonlocal timeouts

            def once() -> Any:
                response = self._call(operation, body, **extra)
                return self._read_body(response) if read_body else response

            try:
                return self._within(remaining, once)
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

        return self._with_cold_start(call, deadline=deadline, max_wait_s=max_wait_s)

    def _read_body(self, response: Any) -> bytes:
        from botocore.exceptions import ReadTimeoutError

        try:
            raw: bytes = response["Body"].read(MAX_RESPONSE_BYTES + 1)
        except ReadTimeoutError as err:
            raise ModelError("model_timeout", f"{self.where}: reading the body: {err}") from None
        except Exception as err:  # a dropped stream surfaces as several botocore/urllib3 types
            raise ModelError(
                "model_unavailable", f"{self.where}: reading the response failed: {err}"
            ) from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise ModelError(
                "model_bad_response", f"{self.where} sent over {MAX_RESPONSE_BYTES} bytes"
            )
        return raw

    def chat(self, profile: CallProfile, turns: Sequence[Turn]) -> ChatResult:
        """One chat completion through ``invoke_endpoint``, within the request's deadline."""
        body = build_chat_body(profile, turns, model=self.model)
        started = time.monotonic()
        raw, warning = self._retrying(
            self.client.invoke_endpoint,
            body,
            deadline=current_deadline(),
            max_wait_s=profile.max_cold_wait_s,
            read_body=True,
            Accept="application/json",
        )
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

    def stream_chat(self, profile: CallProfile, turns: Sequence[Turn]) -> Iterator[StreamDelta]:
        """Stream one chat completion through ``invoke_endpoint_with_response_stream``.

        ``PayloadPart`` bytes are the container's SSE text cut at arbitrary
        points; they are re-split into lines and parsed like a direct vLLM
        stream. ``ModelStreamError`` / ``InternalStreamFailure`` events raise
        ``model_server_error``.
        """
        body = build_chat_body(profile, turns, model=self.model, stream=True)
        deadline = current_deadline()
        response, _warning = self._retrying(
            self.client.invoke_endpoint_with_response_stream,
            body,
            deadline=deadline,
            Accept="text/event-stream",
        )
        parts = self._payload_parts(response["Body"], deadline=deadline)
        yield from parse_sse_stream(iter_sse_lines(parts))

    def _payload_parts(self, events: Any, *, deadline: float | None = None) -> Iterator[bytes]:
        """The stream's bytes; past ``deadline`` (checked per event) ``model_timeout``."""
        from botocore.exceptions import ClientError

        try:
            for event in events:
                if deadline is not None and time.monotonic() > deadline:
                    raise ModelError(
                        "model_timeout", f"{self.where}: the stream outlasted the request deadline"
                    )
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
