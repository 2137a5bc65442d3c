"""An on-disk cache of provider responses, keyed by ticker, kind and day.

Yahoo Finance rate-limits eagerly; one analysis asks for the ticker, its
benchmark and half a dozen peers. Keeping each plain (JSON) response for a
while makes a repeated request, or a second ticker of the same sector, cost
no call. Entries older than ``ttl_seconds`` are ignored (and overwritten on
the next fetch). Writes go to a temporary file and are renamed into place,
so a reader never sees half an entry; an unreadable entry counts as a miss.
The deployed runtime keeps the cache under ``/tmp`` (its only writable disk).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = os.path.join(tempfile.gettempdir(), "stock-agent-market-data")
DEFAULT_TTL_SECONDS = 3600.0
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


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

    def path(self, symbol: str, kind: str, day: date) -> Path:
        """Where the entry lives; the symbol and kind are reduced to safe file-name characters."""
        return (
            self.directory
            / _UNSAFE.sub("_", symbol.upper())
            / f"{day.isoformat()}.{_UNSAFE.sub('_', kind)}.json"
        )

    def get(self, symbol: str, kind: str, day: date) -> CacheHit | None:
        """The entry when it exists, parses and is younger than the TTL; else ``None``."""
        path = self.path(symbol, kind, day)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            stored_at = float(entry["stored_at"])
            value = entry["value"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as err:
            logger.warning("ignoring unreadable cache entry %s: %s", path, err)
            return None
        if self._clock() - stored_at > self.ttl_seconds:
            return None
        return CacheHit(value=value, stored_at=stored_at)

    def put(self, symbol: str, kind: str, day: date, value: Any) -> None:
        """Store ``value`` (JSON-serialisable); a disk error is logged, never raised."""
        path = self.path(symbol, kind, day)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            payload = json.dumps({"stored_at": self._clock(), "value": value})
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
