"""An on-disk cache of provider responses, keyed by ticker, kind and day.

Yahoo Finance rate-limits eagerly; one analysis asks for the ticker, its
benchmark and half a dozen peers. Keeping each plain (JSON) response for a
while makes a repeated request, or a second ticker of the same sector, cost
no call. An entry is served only while ``0 <= now - stored_at <= ttl``: one
stamped in the future (a skewed clock, or a planted file) is a miss, not an
entry that never expires. Writes go to a temporary file and are renamed into
place, so a reader never sees half an entry; an unreadable entry counts as a
miss.

Whatever the cache serves becomes a figure in a report, so the folder is the
current user's own: by default the platform's per-user cache folder
(``$XDG_CACHE_HOME`` or ``~/.cache``; ``~/Library/Caches`` on macOS), never
a shared temporary folder another local user could have created first. The
folders are created private (0700), and a folder or entry that is a
symbolic link, is not owned by the current user, or that others may write to
is refused: the cache is then off (reads miss, writes are skipped) and a
warning says why. The container image points ``XDG_CACHE_HOME`` under
``/tmp``, its only writable disk, which only its one user can write to.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

APP_CACHE_NAME = "stock-agent"
DEFAULT_TTL_SECONDS = 3600.0
#: A cache entry is a few hundred kilobytes at most (a year of daily closes, the info dict).
MAX_ENTRY_BYTES = 4 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_OTHERS_MAY_WRITE = stat.S_IWGRP | stat.S_IWOTH


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The current user's cache folder for market data (the platform's convention).

    ``$XDG_CACHE_HOME`` when it is an absolute path, else ``~/Library/Caches``
    on macOS and ``~/.cache`` elsewhere; without a usable home folder, a
    folder named after the user id directly in the temporary directory (checked
    like any other: private and the user's own, or refused).
    """
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        base = Path(xdg)
    else:
        home = env.get("HOME", "")
        if not home or not os.path.isabs(home):
            uid = os.getuid() if hasattr(os, "getuid") else "user"
            return Path(tempfile.gettempdir()) / f"{APP_CACHE_NAME}-{uid}-market-data"
        base = Path(home) / ("Library/Caches" if sys.platform == "darwin" else ".cache")
    return base / APP_CACHE_NAME / "market-data"


def untrusted_reason(info: os.stat_result, *, what: str) -> str | None:
    """Why an ``lstat`` result may not be trusted by this user, or ``None`` when it may.

    A symbolic link, an owner other than the current user, or write permission
    for the group or others each make it untrusted. Where the platform has no
    user ids (Windows), only the symbolic-link check applies.
    """
    if stat.S_ISLNK(info.st_mode):
        return f"{what} is a symbolic link"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return f"{what} is owned by uid {info.st_uid}, not by the current user ({os.getuid()})"
    if hasattr(os, "getuid") and info.st_mode & _OTHERS_MAY_WRITE:
        return f"{what} can be written by other users (mode {stat.S_IMODE(info.st_mode):o})"
    return None


@dataclass(frozen=True)
class CacheHit:
    """A cached value and when it was stored (seconds since the epoch)."""

    value: Any
    stored_at: float


class DayCache:
    """JSON files ``<dir>/<TICKER>/<day>.<kind>.json`` with a time-to-live."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl_seconds < 0:
            raise ValueError(f"ttl_seconds must not be negative, got {ttl_seconds}")
        self.directory = Path(directory)
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._refused: set[Path] = set()

    def path(self, symbol: str, kind: str, day: date) -> Path:
        """Where the entry lives; the symbol and kind are reduced to safe file-name characters."""
        return (
            self.directory
            / _UNSAFE.sub("_", symbol.upper())
            / f"{day.isoformat()}.{_UNSAFE.sub('_', kind)}.json"
        )

    def _refuse(self, folder: Path, reason: str) -> None:
        if folder not in self._refused:
            self._refused.add(folder)
            logger.warning("market-data cache off for %s: %s", folder, reason)

    def _trusted_folder(self, folder: Path, *, create: bool) -> bool:
        """``folder`` (the cache root or a ticker's folder) is a private folder of ours.

        With ``create`` a missing folder is made with mode 0700 (the root's parents too).
        """
        try:
            info = folder.lstat()
        except FileNotFoundError:
            if not create:
                return False
            try:
                folder.mkdir(mode=0o700, parents=folder == self.directory, exist_ok=True)
                info = folder.lstat()
            except OSError as err:
                self._refuse(folder, f"cannot create it: {err}")
                return False
        except OSError as err:
            self._refuse(folder, f"cannot read it: {err}")
            return False
        if not stat.S_ISDIR(info.st_mode) and not stat.S_ISLNK(info.st_mode):
            self._refuse(folder, "it is not a folder")
            return False
        reason = untrusted_reason(info, what="the folder")
        if reason:
            self._refuse(folder, reason)
            return False
        return True

    def _trusted_folders(self, ticker_folder: Path, *, create: bool) -> bool:
        """The cache root and ``ticker_folder`` are both private folders of ours."""
        return self._trusted_folder(self.directory, create=create) and self._trusted_folder(
            ticker_folder, create=create
        )

    def get(self, symbol: str, kind: str, day: date) -> CacheHit | None:
        """The entry when it is ours, parses and is between 0 and the TTL old; else ``None``."""
        path = self.path(symbol, kind, day)
        if not self._trusted_folders(path.parent, create=False):
            return None
        try:
            entry = json.loads(_read_own_file(path))
            stored_at = float(entry["stored_at"])
            value = entry["value"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as err:
            logger.warning("ignoring unreadable cache entry %s: %s", path, err)
            return None
        age = self._clock() - stored_at
        if not 0 <= age <= self.ttl_seconds:  # also NaN: no comparison holds
            if age < 0:
                logger.warning("ignoring cache entry %s stored in the future", path)
            return None
        return CacheHit(value=value, stored_at=stored_at)

    def put(self, symbol: str, kind: str, day: date, value: Any) -> None:
        """Store ``value`` (JSON-serialisable); a disk error is logged, never raised."""
        path = self.path(symbol, kind, day)
        if not self._trusted_folders(path.parent, create=True):
            return
        try:
            payload = json.dumps({"stored_at": self._clock(), "value": value}, allow_nan=False)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(payload)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except (OSError, TypeError, ValueError) as err:
            logger.warning("could not write cache entry %s: %s", path, err)


def _read_own_file(path: Path) -> str:
    """The text of ``path`` when it is a regular file of ours within the size cap.

    Opened without following a symbolic link and without blocking on a FIFO,
    then checked on the open descriptor, so what is checked is what is read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise OSError(f"cannot open it safely ({err.strerror or err})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError("not a regular file")
        reason = untrusted_reason(info, what="the entry")
        if reason:
            raise OSError(reason)
        data = handle.read(MAX_ENTRY_BYTES + 1)
    if len(data) > MAX_ENTRY_BYTES:
        raise OSError(f"larger than {MAX_ENTRY_BYTES} bytes")
    return data.decode("utf-8")
