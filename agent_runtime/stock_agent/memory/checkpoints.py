"""Where sessions are kept, whose they are, and what happens when the store fails.

Checkpointers (``MEMORY_BACKEND``):

``memory``
    LangGraph's ``InMemorySaver``: ``stock-agent serve`` (sessions end with the process).
``sqlite``
    ``SqliteSaver`` on ``SESSION_DB``: ``stock-agent chat`` (sessions survive restarts).
``agentcore``
    ``AgentCoreMemorySaver`` (langgraph-checkpoint-aws) on the AgentCore Memory
    ``AGENTCORE_MEMORY_ID``: deployed. It calls the data plane's ``CreateEvent``
    and ``ListEvents`` (``DeleteEvent`` only from ``delete_thread``, which the
    agent never calls); the IAM stack grants exactly those two on that memory.

Whose session (the *actor*) is the caller's identity, never a payload field:

1. the ``sub`` claim of the bearer token in ``Authorization`` (AgentCore's JWT
   authorizer has verified it before the request reaches the container; the
   runtime passes the header through its request-header allowlist);
2. else ``X-Amzn-Bedrock-AgentCore-Runtime-User-Id`` (InvokeAgentRuntime's
   ``runtimeUserId``, which only a caller allowed to set it can set);
3. else nobody: the session id alone is the boundary (README).

The actor is hashed into the checkpoint's ``actor_id`` and thread id, so one
actor's session id never opens another actor's session. The local server
honours the same two headers but, unlike AgentCore, does not verify tokens.

When the store is unreachable or throttled, :class:`GuardedSaver` lets the
turn run as a fresh request and records why; the response then carries
``degraded`` and a warning that the turn was not saved.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.memory import InMemorySaver

from ..settings import AgentSettings, ConfigError

logger = logging.getLogger(__name__)

USER_ID_HEADER = "x-amzn-bedrock-agentcore-runtime-user-id"
AUTHORIZATION_HEADER = "authorization"
ANONYMOUS_ACTOR = "anonymous"
MAX_ACTOR_CHARS = 256
MEMORY_CONNECT_TIMEOUT_S = 3
MEMORY_READ_TIMEOUT_S = 10


# ---------------------------------------------------------------------------
# actors and thread keys
# ---------------------------------------------------------------------------


def _jwt_sub(authorization: str) -> str | None:
    """The ``sub`` claim of a bearer JWT (signature already verified by AgentCore)."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) and 0 < len(sub) <= MAX_ACTOR_CHARS else None


def resolve_actor(headers: Mapping[str, str]) -> str | None:
    """The caller's identity from request headers (rules in the module docstring)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    authorization = lowered.get(AUTHORIZATION_HEADER)
    if authorization:
        sub = _jwt_sub(authorization)
        if sub is not None:
            return f"jwt:{sub}"
    user_id = (lowered.get(USER_ID_HEADER) or "").strip()
    if user_id and len(user_id) <= MAX_ACTOR_CHARS:
        return f"user:{user_id}"
    return None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def thread_config(*, session_id: str, actor: str | None) -> RunnableConfig:
    """The checkpointer keys of one session of one actor.

    Both ids fit AgentCore Memory's patterns (``sessionId``: ≤ 100 of
    ``[a-zA-Z0-9-_]``; ``actorId``: ≤ 255) whatever the caller sent, and the
    thread id includes the actor, so local checkpointers isolate actors too.
    """
    actor_id = f"actor-{_digest(actor)[:40]}" if actor else ANONYMOUS_ACTOR
    thread_id = f"{actor_id}-s-{_digest(session_id)[:48]}"
    return {"configurable": {"thread_id": thread_id, "actor_id": actor_id}}


# ---------------------------------------------------------------------------
# fault containment
# ---------------------------------------------------------------------------


@dataclass
class MemoryHealth:
    """What went wrong with the session store during one turn."""

    load_error: str | None = None
    save_error: str | None = None

    @property
    def degraded(self) -> bool:
        return bool(self.load_error or self.save_error)

    def warning(self) -> str | None:
        if self.load_error:
            return (
                f"the session memory could not be read ({self.load_error}): this turn was "
                "answered as a fresh request and was NOT saved to the session"
            )
        if self.save_error:
            return (
                f"the session memory could not be written ({self.save_error}): this turn was "
                "NOT saved to the session"
            )
        return None


_HEALTH: contextvars.ContextVar[MemoryHealth | None] = contextvars.ContextVar(
    "stock_agent_memory_health", default=None
)


@contextlib.contextmanager
def watch_memory() -> Iterator[MemoryHealth]:
    """Collect the store's failures of one turn (the saver reads this context variable)."""
    health = MemoryHealth()
    token = _HEALTH.set(health)
    try:
        yield health
    finally:
        _HEALTH.reset(token)


def _describe(exc: BaseException) -> str:
    code = (
        getattr(exc, "response", {}).get("Error", {}).get("Code")
        if hasattr(exc, "response")
        else None
    )
    return f"{type(exc).__name__}{f' {code}' if code else ''}"


class GuardedSaver(BaseCheckpointSaver[Any]):
    """A checkpointer whose failures become a degraded turn, never a failed request.

    A failed read makes the turn start from an empty session; after a failed
    read nothing is written (writing would replace the session the store
    still holds with this turn alone). A failed write loses only this turn,
    and the response says so.
    """

    def __init__(self, inner: BaseCheckpointSaver[Any]) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner
        self._compact_lock = threading.Lock()

    def _failed(self, stage: str, exc: BaseException) -> None:
        health = _HEALTH.get()
        reason = _describe(exc)
        logger.warning("session memory %s failed", stage, extra={"error": reason})
        if health is not None:
            if stage == "read":
                health.load_error = health.load_error or reason
            else:
                health.save_error = health.save_error or reason

    def _skip_writes(self) -> bool:
        health = _HEALTH.get()
        return health is not None and health.load_error is not None

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        try:
            return self.inner.get_tuple(config)
        except Exception as exc:
            self._failed("read", exc)
            return None

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        try:
            yield from self.inner.list(config, filter=filter, before=before, limit=limit)
        except Exception as exc:
            self._failed("read", exc)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        unchanged: RunnableConfig = {
            "configurable": {**config.get("configurable", {}), "checkpoint_id": checkpoint["id"]}
        }
        if self._skip_writes():
            return unchanged
        try:
            return self.inner.put(config, checkpoint, metadata, new_versions)
        except Exception as exc:
            self._failed("write", exc)
            return unchanged

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        if self._skip_writes():
            return
        try:
            self.inner.put_writes(config, writes, task_id, task_path)
        except Exception as exc:
            self._failed("write", exc)

    def get_next_version(self, current: Any, channel: Any) -> Any:
        return self.inner.get_next_version(current, channel)

    def delete_thread(self, thread_id: str) -> None:
        self.inner.delete_thread(thread_id)

    def keep_latest(self, config: RunnableConfig) -> None:
        """Keep only a thread's latest checkpoint in a local store (bounded memory and file).

        LangGraph's local savers do not implement ``prune``; the latest
        checkpoint is re-put alone after the thread is cleared. AgentCore
        Memory bounds itself (event expiry), so it is left alone.
        """
        if not isinstance(self.inner, InMemorySaver) and type(self.inner).__name__ != "SqliteSaver":
            return
        thread_id = config["configurable"]["thread_id"]
        base: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        try:
            with self._compact_lock:
                if len(list(self.inner.list(base, limit=2))) < 2:
                    return
                latest = self.inner.get_tuple(base)
                if latest is None:
                    return
                self.inner.delete_thread(thread_id)
                self.inner.put(
                    base, latest.checkpoint, latest.metadata, latest.checkpoint["channel_versions"]
                )
        except Exception as exc:  # housekeeping only: the turn is saved already
            logger.warning("could not compact old checkpoints", extra={"error": _describe(exc)})

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)


# ---------------------------------------------------------------------------
# choosing a store
# ---------------------------------------------------------------------------


def sqlite_saver(path: str | Path) -> BaseCheckpointSaver[Any]:
    """A SQLite checkpointer on ``path`` (created if missing), shared across threads."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    file = Path(path).expanduser()
    file.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(str(file), check_same_thread=False)
    saver = SqliteSaver(connection)
    saver.setup()
    return saver


def agentcore_saver(
    *, memory_id: str, region: str | None, **options: Any
) -> BaseCheckpointSaver[Any]:
    """``AgentCoreMemorySaver`` on one memory (imported only when deployed)."""
    from botocore.config import Config
    from langgraph_checkpoint_aws import AgentCoreMemorySaver

    kwargs: dict[str, Any] = {"region_name": region} if region else {}
    # A slow or throttled memory must degrade the turn, not hold it: short timeouts,
    # one retry (botocore's standard mode backs off on throttling).
    config = Config(
        connect_timeout=MEMORY_CONNECT_TIMEOUT_S,
        read_timeout=MEMORY_READ_TIMEOUT_S,
        retries={"mode": "standard", "total_max_attempts": 2},
    )
    return AgentCoreMemorySaver(memory_id, max_retries=2, config=config, **kwargs, **options)


def build_checkpointer(ctx: AgentSettings) -> GuardedSaver:
    """The guarded checkpointer ``ctx.memory_backend`` names."""
    backend = ctx.memory_backend
    if backend == "agentcore":
        if not ctx.agentcore_memory_id:  # AgentSettings.validate refuses this already
            raise ConfigError("AGENTCORE_MEMORY_ID is required when MEMORY_BACKEND=agentcore")
        return GuardedSaver(
            agentcore_saver(memory_id=ctx.agentcore_memory_id, region=ctx.aws_region)
        )
    if backend == "sqlite":
        return GuardedSaver(sqlite_saver(ctx.session_db))
    return GuardedSaver(InMemorySaver())
