"""Where sessions are kept, whose they are, and what happens when the store fails.

Checkpointers (``MEMORY_BACKEND``):

``memory``
    LangGraph's ``InMemorySaver``: ``stock-agent serve`` (sessions end with the process;
    at most ``MEMORY_MAX_SESSIONS``, each dropped after ``MEMORY_SESSION_IDLE_SECONDS``
    unused: :mod:`.bounded_saver`).
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

An identity is 1 to :data:`MAX_ACTOR_CHARS` (1,024, what AWS allows for a
runtime user id) visible ASCII characters or inner spaces; a longer or
malformed one is refused (``400 invalid_header``), never read as nobody. The
actor is hashed into the checkpoint's ``actor_id`` and thread id, so any
length fits and one actor's session id never opens another actor's session.
The local server honours the same two headers but, unlike AgentCore, does
not verify tokens.

Sessions on a local store (``memory``, ``sqlite``) are written with a
version check: a turn's checkpoint lands only if the session still is the
one the turn read, so a turn another writer got in first is reported as not
saved instead of silently replacing it. SQLite files shared by several
processes also serialise each session's turns (:mod:`.session_locks`).

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
import logging
import re
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

from .. import bounded_json
from ..errors import AgentError
from ..settings import AgentSettings, ConfigError
from .bounded_saver import BoundedInMemorySaver
from .session_locks import FileSessionLocks

logger = logging.getLogger(__name__)

USER_ID_HEADER = "x-amzn-bedrock-agentcore-runtime-user-id"
AUTHORIZATION_HEADER = "authorization"
ANONYMOUS_ACTOR = "anonymous"
MAX_ACTOR_CHARS = 1024  # InvokeAgentRuntime's runtimeUserId: 1-1024 characters
# Visible ASCII and inner spaces: what an HTTP header carries unchanged.
_ACTOR_RE = re.compile(r"[!-~](?:[ -~]*[!-~])?")
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
        claims = bounded_json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)), max_depth=8
        )
    except (binascii.Error, ValueError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str) or not sub:
        return None
    if len(sub) > MAX_ACTOR_CHARS:
        raise AgentError(
            "invalid_header",
            f"the bearer token's sub claim has {len(sub)} characters; "
            f"the limit is {MAX_ACTOR_CHARS}",
        )
    return sub


def user_id_problem(user_id: str) -> str | None:
    """Why ``user_id`` is not an identity this agent accepts, or ``None`` when it is.

    The one rule for the runtime user id, on the server (the header) and in
    the clients (``--user-id``): 1 to :data:`MAX_ACTOR_CHARS` visible ASCII
    characters or inner spaces. Surrounding whitespace would be dropped on
    the wire, a control character or non-ASCII cannot travel in a header.
    """
    if not user_id:
        return "it is empty"
    if len(user_id) > MAX_ACTOR_CHARS:
        return f"it has {len(user_id)} characters; the limit is {MAX_ACTOR_CHARS}"
    if not _ACTOR_RE.fullmatch(user_id):
        return (
            "it must be visible ASCII characters (spaces only inside), "
            "with no control characters and no surrounding whitespace"
        )
    return None


def resolve_actor(headers: Mapping[str, str]) -> str | None:
    """The caller's identity from request headers (rules in the module docstring).

    Raises ``invalid_header`` for an identity that is present but not acceptable.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    authorization = lowered.get(AUTHORIZATION_HEADER)
    if authorization:
        sub = _jwt_sub(authorization)
        if sub is not None:
            return f"jwt:{sub}"
    user_id = lowered.get(USER_ID_HEADER)
    if user_id is None:
        return None
    problem = user_id_problem(user_id)
    if problem:
        raise AgentError("invalid_header", f"header {USER_ID_HEADER}: {problem}")
    return f"user:{user_id}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def actor_key(actor: str) -> str:
    """The opaque key of an identity: what every store files the actor's data under.

    Fits AgentCore Memory's ``actorId`` and namespace patterns whatever the
    identity was, and never reveals it.
    """
    return f"actor-{_digest(actor)[:40]}"


def thread_config(*, session_id: str, actor: str | None) -> RunnableConfig:
    """The checkpointer keys of one session of one actor.

    Both ids fit AgentCore Memory's patterns (``sessionId``: ≤ 100 of
    ``[a-zA-Z0-9-_]``; ``actorId``: ≤ 255) whatever the caller sent, and the
    thread id includes the actor, so local checkpointers isolate actors too.
    """
    actor_id = actor_key(actor) if actor else ANONYMOUS_ACTOR
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
    # Another process held the session past the wait: the turn runs, unsaved.
    busy: str | None = None

    @property
    def degraded(self) -> bool:
        return bool(self.load_error or self.save_error or self.busy)

    def warning(self) -> str | None:
        if self.busy:
            return f"{self.busy}: this turn was NOT saved to the session"
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


def memory_read_failed() -> str | None:
    """Why this turn could not read its session (``None`` when it could or did not try)."""
    health = _HEALTH.get()
    return health.load_error if health is not None else None


@contextlib.contextmanager
def watch_memory() -> Iterator[MemoryHealth]:
    """Collect the store's failures of one turn (the saver reads this context variable)."""
    health = MemoryHealth()
    token = _HEALTH.set(health)
    try:
        yield health
    finally:
        _HEALTH.reset(token)


class SessionChanged(RuntimeError):
    """The session is no longer the one this turn read: another writer got in first."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SessionChanged):
        return str(exc)
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

    def __init__(
        self, inner: BaseCheckpointSaver[Any], *, locks: FileSessionLocks | None = None
    ) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner
        self.locks = locks
        self._compact_lock = threading.Lock()
        # Local stores are read back before each write; AgentCore Memory routes a
        # session to one microVM and is append-only, so it needs no version check.
        self._checks_versions = isinstance(inner, InMemorySaver) or _is_sqlite(inner)

    @contextlib.contextmanager
    def session_lock(self, config: RunnableConfig, *, wait_s: float) -> Iterator[None]:
        """Hold the session against other processes for one turn (shared SQLite file only)."""
        if self.locks is None or not config:
            yield
            return
        with self.locks.hold(str(config["configurable"]["thread_id"]), wait_s=wait_s) as held:
            if not held:
                health = _HEALTH.get()
                reason = f"the session was in use by another process for over {wait_s:g} s"
                logger.warning("session busy in another process", extra={"waited_s": wait_s})
                if health is not None:
                    health.busy = reason
            yield

    def _check_version(self, config: RunnableConfig) -> None:
        """Raise :class:`SessionChanged` unless the session's latest checkpoint is this
        turn's parent (``checkpoint_id`` in ``config``; none for a new session)."""
        if not self._checks_versions:
            return
        configurable = config.get("configurable", {})
        latest = self.inner.get_tuple(
            {
                "configurable": {
                    "thread_id": configurable["thread_id"],
                    "checkpoint_ns": configurable.get("checkpoint_ns", ""),
                }
            }
        )
        found = latest.config["configurable"].get("checkpoint_id") if latest else None
        if found != configurable.get("checkpoint_id"):
            raise SessionChanged("the session was changed by another writer during this turn")

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
        return health is not None and (health.load_error is not None or health.busy is not None)

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
            self._check_version(config)
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
            self._check_version(config)
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
        if not self._checks_versions:
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


def _is_sqlite(saver: BaseCheckpointSaver[Any]) -> bool:
    return type(saver).__name__ == "SqliteSaver"


def sqlite_saver(path: str | Path) -> BaseCheckpointSaver[Any]:
    """A SQLite checkpointer on ``path`` (created if missing), shared across threads.

    A path that is a folder, another kind of file, or a file that is not a
    SQLite database is a :class:`ConfigError` naming ``SESSION_DB``: found at
    start-up, not by every request with a session.
    """
    from langgraph.checkpoint.sqlite import SqliteSaver

    file = Path(path).expanduser()

    def bad(what: str) -> ConfigError:
        return ConfigError(f"SESSION_DB={str(path)!r} is invalid: {what}")

    if file.is_dir():
        raise bad("it is a folder; expected a SQLite file (created if missing)")
    if file.exists() and not file.is_file():
        raise bad("it is not a regular file; expected a SQLite file")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(file), check_same_thread=False)
        connection.execute("PRAGMA schema_version").fetchone()  # reads the header
        saver = SqliteSaver(connection)
        saver.setup()
    except (OSError, sqlite3.OperationalError) as err:
        raise bad(f"cannot be opened or created ({err})") from None
    except sqlite3.DatabaseError as err:
        raise bad(f"not a SQLite database ({err})") from None
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
        return GuardedSaver(sqlite_saver(ctx.session_db), locks=FileSessionLocks(ctx.session_db))
    return GuardedSaver(
        BoundedInMemorySaver(
            max_sessions=ctx.memory_max_sessions, idle_s=ctx.memory_session_idle_seconds
        )
    )
