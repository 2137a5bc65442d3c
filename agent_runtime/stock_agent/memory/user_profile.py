"""What the agent remembers about its user across sessions: a watchlist and preferences.

A session forgets everything when it ends; a user's profile outlives it. It is
small and typed (:class:`UserProfile`): the tickers the user watches and a few
preferences, each from a closed list (:data:`PREFERENCES`). A value outside
its list is never stored, and one found in a store (planted there by hand) is
dropped when read: a stored preference is data, never an instruction, and it
can only choose among the answers' fixed shapes.

Whose profile is the verified identity of the caller (the same actor as the
session's, :func:`stock_agent.memory.checkpoints.actor_key`); without an
identity there is no profile at all. Stores key profiles by that opaque actor
key and never list another actor's records.

Three stores behind one interface (:class:`UserProfileStore`):

``memory``
    :class:`InMemoryProfiles`: ``stock-agent serve``; at most ``max_users``
    profiles, the least recently used goes first (like the sessions).
``sqlite``
    :class:`SqliteProfiles`: the ``user_profiles`` table of the SQLite file of
    ``stock-agent chat``'s sessions; each change is one ``BEGIN IMMEDIATE``
    transaction, so processes sharing the file never lose each other's changes.
``agentcore``
    :class:`AgentCoreProfiles`: long-term memory records of the session's
    AgentCore Memory, written directly (no strategy) with exactly three data
    plane calls: ``BatchCreateMemoryRecords``, ``ListMemoryRecords`` and
    ``BatchDeleteMemoryRecords``.

A change (:meth:`UserProfileStore.update`) is checked against the bounds
(:class:`ProfileLimits`) before anything is written: over a bound it is
refused whole (``422``), never half-applied. A store that cannot be reached
raises :class:`ProfileUnavailable`; the turn then goes on without the profile
and says so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ..errors import AgentError

logger = logging.getLogger(__name__)

#: Each preference and the values it may take (the first is what applies when unset).
PREFERENCES: Mapping[str, tuple[str, ...]] = {
    "answer_length": ("detailed", "brief"),
    "comparison_pdfs": ("on", "off"),
    "risk_profile": ("unstated", "conservative", "balanced", "aggressive"),
    "scheduled_watchlist": ("off", "on"),
}
#: How a preference is named to the user.
PREFERENCE_TITLES: Mapping[str, str] = {
    "answer_length": "answer length",
    "comparison_pdfs": "comparison PDFs",
    "risk_profile": "risk profile",
    "scheduled_watchlist": "scheduled watchlist report",
}
_TICKER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
MAX_TICKER_CHARS = 32


class ProfileUnavailable(RuntimeError):
    """The profile store did not answer (unreachable, throttled, refused): ``str`` says how."""


@dataclass(frozen=True)
class ProfileLimits:
    """The bounds of one profile (``USER_WATCHLIST_MAX_TICKERS``, ``USER_MAX_PREFERENCES``)."""

    max_tickers: int
    max_preferences: int


def preference_problem(key: str, value: str) -> str | None:
    """Why ``key=value`` is not a preference this agent keeps, or ``None`` when it is."""
    allowed = PREFERENCES.get(key)
    if allowed is None:
        return f"{key!r} is not a preference; the preferences are {', '.join(PREFERENCES)}"
    if value not in allowed:
        return f"{PREFERENCE_TITLES[key]} {value!r} is not allowed: one of {', '.join(allowed)}"
    return None


def _plain_ticker(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_TICKER_CHARS
        and set(value) <= _TICKER_CHARS
        and value[0].isalpha()
    )


@dataclass(frozen=True)
class UserProfile:
    """One user's watchlist (in the order added) and preferences (only those stated)."""

    watchlist: tuple[str, ...] = ()
    preferences: Mapping[str, str] = field(default_factory=dict)

    def preference(self, key: str) -> str:
        """The stated value of ``key``, else its default (the first of its closed list)."""
        return self.preferences.get(key, PREFERENCES[key][0])

    @property
    def empty(self) -> bool:
        return not self.watchlist and not self.preferences

    @property
    def subscribed(self) -> bool:
        """Opted in to the scheduled watchlist report."""
        return self.preference("scheduled_watchlist") == "on"

    def to_json(self) -> dict[str, Any]:
        return {"watchlist": list(self.watchlist), "preferences": dict(self.preferences)}

    @classmethod
    def from_json(cls, raw: Any) -> UserProfile:
        """A profile from stored JSON; anything outside the closed lists is dropped (logged).

        A store is outside this process's control: a hand-planted value
        ("ignore your rules ...") must not reach an answer.
        """
        if not isinstance(raw, Mapping):
            return cls()
        tickers = raw.get("watchlist")
        watchlist = [t for t in tickers if _plain_ticker(t)] if isinstance(tickers, list) else []
        stated = raw.get("preferences")
        preferences: dict[str, str] = {}
        for key, value in stated.items() if isinstance(stated, Mapping) else ():
            if (
                isinstance(key, str)
                and isinstance(value, str)
                and not preference_problem(key, value)
            ):
                preferences[key] = value
            else:
                logger.warning("stored preference dropped", extra={"key": str(key)[:40]})
        return cls(watchlist=tuple(dict.fromkeys(watchlist)), preferences=preferences)


# ---------------------------------------------------------------------------
# changes, checked against the bounds before anything is written
# ---------------------------------------------------------------------------


def check_limits(profile: UserProfile, limits: ProfileLimits) -> None:
    """Raise ``422`` naming the bound a profile is over (then nothing is written)."""
    if len(profile.watchlist) > limits.max_tickers:
        raise AgentError(
            "watchlist_full",
            f"a watchlist holds at most {limits.max_tickers} tickers "
            f"(USER_WATCHLIST_MAX_TICKERS); this change would make it "
            f"{len(profile.watchlist)}: nothing was changed. Drop a ticker first",
        )
    if len(profile.preferences) > limits.max_preferences:
        raise AgentError(
            "too_many_preferences",
            f"at most {limits.max_preferences} preferences are kept (USER_MAX_PREFERENCES); "
            f"this change would make {len(profile.preferences)}: nothing was changed",
        )


def with_tickers(profile: UserProfile, tickers: Sequence[str]) -> UserProfile:
    return replace(profile, watchlist=tuple(dict.fromkeys([*profile.watchlist, *tickers])))


def without_tickers(profile: UserProfile, tickers: Sequence[str]) -> UserProfile:
    gone = set(tickers)
    return replace(profile, watchlist=tuple(t for t in profile.watchlist if t not in gone))


def with_preferences(profile: UserProfile, stated: Sequence[tuple[str, str]]) -> UserProfile:
    """``profile`` with ``stated`` preferences; a value outside its list is ``422``."""
    preferences = dict(profile.preferences)
    for key, value in stated:
        problem = preference_problem(key, value)
        if problem:
            raise AgentError("invalid_preference", problem)
        preferences[key] = value
    return replace(profile, preferences=preferences)


# ---------------------------------------------------------------------------
# the interface and the local stores
# ---------------------------------------------------------------------------

Change = Callable[[UserProfile], UserProfile]


class UserProfileStore(Protocol):
    """Where profiles live. ``actor`` is the opaque actor key, never a raw identity."""

    limits: ProfileLimits

    def read(self, actor: str) -> UserProfile:
        """The actor's profile (empty when none); :class:`ProfileUnavailable` if unreachable."""
        ...

    def update(self, actor: str, change: Change) -> UserProfile:
        """Apply ``change`` to the actor's profile, check the bounds, store it; the new profile.

        ``change`` may raise :class:`AgentError`; then nothing is written.
        """
        ...

    def subscribers(self, limit: int) -> list[tuple[str, UserProfile]]:
        """At most ``limit`` opted-in actors and their profiles (the scheduled run)."""
        ...


def _checked(change: Change, current: UserProfile, limits: ProfileLimits) -> UserProfile:
    new = change(current)
    check_limits(new, limits)
    return new


class InMemoryProfiles:
    """Profiles in this process (``serve``): at most ``max_users``, least recently used out."""

    def __init__(self, *, limits: ProfileLimits, max_users: int) -> None:
        if max_users < 1:
            raise ValueError(f"max_users must be >= 1, got {max_users}")
        self.limits = limits
        self.max_users = max_users
        self._profiles: OrderedDict[str, UserProfile] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, actor: str) -> UserProfile:
        with self._lock:
            profile = self._profiles.get(actor)
            if profile is not None:
                self._profiles.move_to_end(actor)
            return profile or UserProfile()

    def update(self, actor: str, change: Change) -> UserProfile:
        with self._lock:
            new = _checked(change, self._profiles.get(actor, UserProfile()), self.limits)
            if new.empty:
                self._profiles.pop(actor, None)
                return new
            self._profiles[actor] = new
            self._profiles.move_to_end(actor)
            while len(self._profiles) > self.max_users:
                self._profiles.popitem(last=False)
            return new

    def subscribers(self, limit: int) -> list[tuple[str, UserProfile]]:
        with self._lock:
            found = [(a, p) for a, p in self._profiles.items() if p.subscribed]
        return found[:limit]


class SqliteProfiles:
    """Profiles in the ``user_profiles`` table of the session file (``stock-agent chat``).

    One connection per call (SQLite connections are cheap and this keeps the
    store free of shared cursors); a change is read and written inside one
    ``BEGIN IMMEDIATE`` transaction, so two processes on the same file apply
    their changes one after the other.
    """

    BUSY_TIMEOUT_S = 5.0

    def __init__(self, path: str | Path, *, limits: ProfileLimits) -> None:
        self.path = Path(path).expanduser()
        self.limits = limits
        self._ready = False
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            str(self.path), timeout=self.BUSY_TIMEOUT_S, isolation_level=None
        )
        if not self._ready:
            with self._lock:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS user_profiles ("
                    "actor TEXT PRIMARY KEY, profile TEXT NOT NULL, "
                    "subscribed INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL)"
                )
                self._ready = True
        try:
            yield connection
        finally:
            connection.close()

    def read(self, actor: str) -> UserProfile:
        try:
            with self._connect() as connection:
                row = connection.execute(
                    "SELECT profile FROM user_profiles WHERE actor = ?", (actor,)
                ).fetchone()
        except sqlite3.Error as err:
            raise ProfileUnavailable(f"sqlite: {type(err).__name__}") from err
        return UserProfile.from_json(json.loads(row[0])) if row else UserProfile()

    def update(self, actor: str, change: Change) -> UserProfile:
        try:
            with self._connect() as connection:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    row = connection.execute(
                        "SELECT profile FROM user_profiles WHERE actor = ?", (actor,)
                    ).fetchone()
                    current = UserProfile.from_json(json.loads(row[0])) if row else UserProfile()
                    new = _checked(change, current, self.limits)
                    if new.empty:
                        connection.execute("DELETE FROM user_profiles WHERE actor = ?", (actor,))
                    else:
                        connection.execute(
                            "INSERT INTO user_profiles (actor, profile, subscribed, updated_at) "
                            "VALUES (?, ?, ?, ?) ON CONFLICT(actor) DO UPDATE SET "
                            "profile = excluded.profile, subscribed = excluded.subscribed, "
                            "updated_at = excluded.updated_at",
                            (actor, json.dumps(new.to_json()), int(new.subscribed),
                             datetime.now(UTC).isoformat()),
                        )  # fmt: skip
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
        except sqlite3.Error as err:
            raise ProfileUnavailable(f"sqlite: {type(err).__name__}") from err
        return new

    def subscribers(self, limit: int) -> list[tuple[str, UserProfile]]:
        try:
            with self._connect() as connection:
                rows = connection.execute(
                    "SELECT actor, profile FROM user_profiles WHERE subscribed = 1 "
                    "ORDER BY updated_at LIMIT ?",
                    (limit,),
                ).fetchall()
        except sqlite3.Error as err:
            raise ProfileUnavailable(f"sqlite: {type(err).__name__}") from err
        return [(actor, UserProfile.from_json(json.loads(text))) for actor, text in rows]


# ---------------------------------------------------------------------------
# AgentCore Memory: long-term records, written directly
# ---------------------------------------------------------------------------

#: Records per ListMemoryRecords page and per batch call (the service's maximum).
AGENTCORE_PAGE = 100


def user_namespace(actor: str, part: str) -> str:
    """``/users/{actor}/{part}``: one actor's records (``watchlist`` or ``preferences``)."""
    return f"/users/{actor}/{part}"


def subscriber_namespace(actor: str) -> str:
    """``/subscribers/{actor}``: the actor opted in to the scheduled watchlist report."""
    return f"/subscribers/{actor}"


@dataclass(frozen=True)
class _Record:
    record_id: str
    namespace: str
    content: dict[str, Any]
    at: float


class AgentCoreProfiles:
    """Profiles as long-term records of an AgentCore Memory (no strategy: direct writes).

    One record per watched ticker (``/users/{actor}/watchlist``), per stated
    preference (``/users/{actor}/preferences``) and per subscriber
    (``/subscribers/{actor}``). A change creates the new records first and then
    deletes the replaced ones, so a failure half-way leaves the old value or
    both, never neither; a read keeps each ticker once and the newest value of
    each preference. Only ``BatchCreateMemoryRecords``, ``ListMemoryRecords``
    and ``BatchDeleteMemoryRecords`` are called, only on namespaces of the
    actor at hand (and ``/subscribers/`` for the scheduled run).
    """

    def __init__(
        self,
        *,
        memory_id: str,
        limits: ProfileLimits,
        client: Any = None,
        region: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.memory_id = memory_id
        self.limits = limits
        self._client = client if client is not None else _agentcore_client(region)
        self._clock = clock
        # A profile never needs more pages than its bounds allow records (plus stale ones).
        self._max_pages = 2 + (limits.max_tickers + limits.max_preferences) // AGENTCORE_PAGE

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self._client, operation)(memoryId=self.memory_id, **params))
        except Exception as err:  # botocore's ClientError and transport errors alike
            code = getattr(err, "response", {}).get("Error", {}).get("Code")
            name = "".join(part.title() for part in operation.split("_"))
            raise ProfileUnavailable(
                f"AgentCore Memory {name}: {code or type(err).__name__}"
            ) from err

    def _list(self, *, max_records: int, **where: str) -> list[_Record]:
        records: list[_Record] = []
        token: str | None = None
        for _ in range(self._max_pages + max_records // AGENTCORE_PAGE):
            page = self._call(
                "list_memory_records",
                maxResults=AGENTCORE_PAGE,
                **where,
                **({"nextToken": token} if token else {}),
            )
            for summary in page.get("memoryRecordSummaries", []):
                record = _parse_record(summary)
                if record is not None:
                    records.append(record)
            token = page.get("nextToken")
            if not token or len(records) >= max_records:
                break
        return records

    def _records(self, actor: str) -> list[_Record]:
        prefix = user_namespace(actor, "")
        found = self._list(namespacePath=prefix, max_records=AGENTCORE_PAGE * self._max_pages)
        # The service filters by the path; checked again here, so no other actor's
        # record can ever be read as this one's.
        return [r for r in found if r.namespace.startswith(prefix)]

    def read(self, actor: str) -> UserProfile:
        return _profile_of(self._records(actor))

    def update(self, actor: str, change: Change) -> UserProfile:
        records = self._records(actor)
        current = _profile_of(records)
        new = _checked(change, current, self.limits)
        creates: list[tuple[str, dict[str, Any]]] = []
        deletes: list[_Record] = []
        watch = user_namespace(actor, "watchlist")
        prefs = user_namespace(actor, "preferences")
        for ticker in new.watchlist:
            if ticker not in current.watchlist:
                creates.append((watch, {"kind": "watch", "ticker": ticker}))
        kept_tickers: set[str] = set()
        newest = _newest_preferences(records)
        for record in records:
            kind = record.content.get("kind")
            if kind == "watch":
                held = record.content.get("ticker")
                if held in new.watchlist and held not in kept_tickers:
                    kept_tickers.add(str(held))
                else:
                    deletes.append(record)
            elif kind == "preference":
                key = record.content.get("key")
                value = record.content.get("value")
                if new.preferences.get(str(key)) != value or newest.get(str(key)) is not record:
                    deletes.append(record)
            else:
                deletes.append(record)
        for key, value in new.preferences.items():
            if current.preferences.get(key) != value:
                creates.append((prefs, {"kind": "preference", "key": key, "value": value}))
        if new.subscribed != current.subscribed:
            marks = self._list(namespace=subscriber_namespace(actor), max_records=AGENTCORE_PAGE)
            if new.subscribed and not marks:
                creates.append((subscriber_namespace(actor), {"kind": "subscriber"}))
            if not new.subscribed:
                deletes.extend(marks)
        self._create(creates)
        self._delete(deletes)
        return new

    def _create(self, records: Sequence[tuple[str, dict[str, Any]]]) -> None:
        now = self._clock()
        for start in range(0, len(records), AGENTCORE_PAGE):
            batch = records[start : start + AGENTCORE_PAGE]
            answer = self._call(
                "batch_create_memory_records",
                records=[
                    {
                        "requestIdentifier": f"r{start + i}",
                        "namespaces": [namespace],
                        "content": {"text": json.dumps(content, separators=(",", ":"))},
                        # A millisecond apart: the order added is the order read back.
                        "timestamp": datetime.fromtimestamp(now + (start + i) / 1000, UTC),
                    }
                    for i, (namespace, content) in enumerate(batch)
                ],
            )
            failed = answer.get("failedRecords") or []
            if failed:
                raise ProfileUnavailable(
                    f"AgentCore Memory BatchCreateMemoryRecords: {len(failed)} of "
                    f"{len(batch)} records not written"
                )

    def _delete(self, records: Sequence[_Record]) -> None:
        for start in range(0, len(records), AGENTCORE_PAGE):
            batch = records[start : start + AGENTCORE_PAGE]
            answer = self._call(
                "batch_delete_memory_records",
                records=[{"memoryRecordId": r.record_id, "namespace": r.namespace} for r in batch],
            )
            failed = answer.get("failedRecords") or []
            if failed:
                raise ProfileUnavailable(
                    f"AgentCore Memory BatchDeleteMemoryRecords: {len(failed)} of "
                    f"{len(batch)} records not deleted"
                )

    def subscribers(self, limit: int) -> list[tuple[str, UserProfile]]:
        marks = self._list(namespacePath="/subscribers/", max_records=limit)
        actors = list(
            dict.fromkeys(
                r.namespace.removeprefix("/subscribers/")
                for r in marks
                if r.namespace.startswith("/subscribers/")
            )
        )[:limit]
        found = [(actor, self.read(actor)) for actor in actors if actor and "/" not in actor]
        return [(actor, profile) for actor, profile in found if profile.subscribed]


def _agentcore_client(region: str | None) -> Any:
    """The ``bedrock-agentcore`` data-plane client: short timeouts, one retry (as the
    session saver's), so a slow memory degrades the turn instead of holding it."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=3, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 2}
    )
    kwargs: dict[str, Any] = {"region_name": region} if region else {}
    return boto3.client("bedrock-agentcore", config=config, **kwargs)


def _parse_record(summary: Mapping[str, Any]) -> _Record | None:
    namespaces = summary.get("namespaces") or []
    text = (summary.get("content") or {}).get("text")
    try:
        content = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        content = None
    if not namespaces or not isinstance(content, dict):
        return None
    stamp = summary.get("timestamp") or summary.get("createdAt")
    at = stamp.timestamp() if isinstance(stamp, datetime) else 0.0
    return _Record(str(summary["memoryRecordId"]), str(namespaces[0]), content, at)


def _newest_preferences(records: Sequence[_Record]) -> dict[str, _Record]:
    newest: dict[str, _Record] = {}
    for record in sorted(records, key=lambda r: r.at):
        if record.content.get("kind") == "preference":
            newest[str(record.content.get("key"))] = record
    return newest


def _profile_of(records: Sequence[_Record]) -> UserProfile:
    ordered = sorted(records, key=lambda r: r.at)
    watchlist = [r.content.get("ticker") for r in ordered if r.content.get("kind") == "watch"]
    preferences: dict[str, Any] = {
        key: record.content.get("value") for key, record in _newest_preferences(ordered).items()
    }
    return UserProfile.from_json({"watchlist": watchlist, "preferences": preferences})


def build_profile_store(
    *,
    backend: str,
    limits: ProfileLimits,
    session_db: str,
    max_users: int,
    memory_id: str | None,
    region: str | None,
) -> UserProfileStore:
    """The profile store beside the session store ``backend`` names (``MEMORY_BACKEND``)."""
    if backend == "agentcore" and memory_id:
        return AgentCoreProfiles(memory_id=memory_id, limits=limits, region=region)
    if backend == "sqlite":
        return SqliteProfiles(session_db, limits=limits)
    return InMemoryProfiles(limits=limits, max_users=max_users)
