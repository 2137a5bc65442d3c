"""JSON-lines logging with the request and session ids on every line.

CloudWatch Logs Insights (where AgentCore Runtime sends a container's output)
queries JSON fields directly, so one JSON object per line lets an operator
follow one request across the graph's stages. The ids live in context
variables set by :func:`request_scope`; the formatter also falls back to the
ids the AgentCore app stores for the current request.

:func:`configure_logging` is called once by the programs' ``main`` functions
(entrypoint, command line), never at import time by library modules.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "stock_agent_request_id", default=None
)
_session_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "stock_agent_session_id", default=None
)

# Attributes every LogRecord has; anything else passed via ``extra=`` is emitted as a field.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
    | {"message", "asctime", "taskName"}
)
_HANDLER_MARK = "_stock_agent_json_handler"


@contextlib.contextmanager
def request_scope(*, request_id: str, session_id: str | None) -> Iterator[None]:
    """Tag every log line emitted inside the block with these ids."""
    rid = _request_id.set(request_id)
    sid = _session_id.set(session_id)
    try:
        yield
    finally:
        _request_id.reset(rid)
        _session_id.reset(sid)


def _agentcore_ids() -> tuple[str | None, str | None]:
    """The ids the AgentCore app stored for the current request (it sets them per request)."""
    try:
        from bedrock_agentcore.runtime.context import BedrockAgentCoreContext
    except ImportError:  # pragma: no cover - the package is a runtime dependency
        return None, None
    return BedrockAgentCoreContext.get_request_id(), BedrockAgentCoreContext.get_session_id()


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, ids, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id, session_id = _request_id.get(), _session_id.get()
        if request_id is None:
            request_id, fallback_session = _agentcore_ids()
            session_id = session_id or fallback_session
        if request_id:
            entry["request_id"] = request_id
        if session_id:
            entry["session_id"] = session_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record.

    A handler that captured ``sys.stderr`` once keeps writing to a stream that
    a test harness (or a daemoniser) may since have replaced and closed.
    """

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__ assigns it
        pass


def configure_logging(*, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every logger's records to ``stream`` (stderr) as JSON lines, at ``level``.

    Idempotent: a second call replaces the handler this module installed
    instead of adding another. The AgentCore app installs its own handler on
    ``bedrock_agentcore.app``; it is removed so each line is written once, in
    one format.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False):
            root.removeHandler(old)
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _CurrentStderrHandler()
    )
    handler.setFormatter(JsonFormatter())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(level)
    # Chatty third-party loggers stay at WARNING unless we debug.
    noisy_level = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in ("botocore", "boto3", "urllib3", "httpx", "httpcore", "uvicorn.access", "mcp"):
        logging.getLogger(name).setLevel(noisy_level)
    quiet_agentcore_handlers()


def quiet_agentcore_handlers() -> None:
    """Make the AgentCore app's records reach ours via the root, written once.

    The app adds its own stream handler in ``__init__`` only when its logger
    has none; a :class:`logging.NullHandler` in its place keeps it from doing
    so (whether the app is built before or after this call).
    """
    app_logger = logging.getLogger("bedrock_agentcore.app")
    for handler in list(app_logger.handlers):
        app_logger.removeHandler(handler)
    app_logger.addHandler(logging.NullHandler())
    app_logger.propagate = True
