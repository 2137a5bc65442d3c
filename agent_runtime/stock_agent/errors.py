"""The agent's caller-facing errors: one class, a stable code, an HTTP status.

Every failure a caller can see is an :class:`AgentError`. The HTTP entrypoint
and the command line turn it into ``{"error": {"code": ..., "message": ...}}``
(or a one-line message) so no caller ever receives a stack trace. Internal
failures become ``internal_error`` with a generic message; the details go to
the logs only.
"""

from __future__ import annotations

from typing import Any

# code -> HTTP status. The codes are part of the contract; callers branch on them.
ERROR_STATUS: dict[str, int] = {
    "invalid_payload": 400,
    "invalid_prompt": 400,
    "invalid_header": 400,
    "forbidden_host": 403,
    "request_timeout": 408,
    "unsupported_media_type": 415,
    "payload_too_large": 413,
    "prompt_too_long": 413,
    "too_many_tickers": 422,
    "no_ticker": 422,
    "no_context": 422,
    "unknown_ticker": 422,
    "unknown_figure": 422,
    # The user's long-term memory: a change over a bound or outside a closed list.
    "watchlist_full": 422,
    "too_many_preferences": 422,
    "invalid_preference": 422,
    "market_data_unavailable": 503,
    # A follow-up needs the session and the session store did not answer: try again.
    "memory_unavailable": 503,
    "report_upload_failed": 502,
    "report_write_failed": 500,
    "deadline_exceeded": 504,
    "server_busy": 503,
    "model_starting": 503,
    # nginx's "client closed request": only ever logged, nobody is left to read it.
    "client_disconnected": 499,
    "internal_error": 500,
}

INTERNAL_ERROR_MESSAGE = "the agent failed unexpectedly; see the logs for the request id"


class AgentError(Exception):
    """A failure the caller should see, with a machine-readable ``code``.

    ``http_status`` defaults to the status registered for ``code`` in
    :data:`ERROR_STATUS` (500 for an unregistered code, which is a bug).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status or ERROR_STATUS.get(code, 500)
        # Seconds after which trying again may succeed (busy server, model starting).
        self.retry_after = retry_after

    def to_body(self) -> dict[str, Any]:
        """The JSON body of the failure contract (``retry_after`` only when it is known)."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return {"error": error}

    def headers(self) -> dict[str, str]:
        """HTTP headers that go with the error (``Retry-After``)."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}

    def __repr__(self) -> str:
        return (
            f"AgentError(code={self.code!r}, message={self.message!r}, "
            f"http_status={self.http_status})"
        )


def internal_error() -> AgentError:
    """The error shown for a bug: generic on purpose, so nothing internal leaks."""
    return AgentError("internal_error", INTERNAL_ERROR_MESSAGE)
