"""The simulated market's one history: a daily price path per ticker and for the index.

A close is a function of the ticker and the day alone, so every as-of date
sees the same past: a backtest, a watchlist followed over weeks, a
comparison with last week's record and an evaluation case written yesterday
all depend on that.

How the path is made, and why:

- The market opens on :data:`HISTORY_ORIGIN` and trades on weekdays (no
  holiday calendar). Each calendar year is a block whose randomness is
  seeded by the series and the year alone, so generating 2031 never changes
  2024, and extending the history forward is deterministic.
- A block's total move is drawn first (one draw per year), then its daily
  moves, shifted so that they add up to that total: independent normal
  steps conditioned on their sum, so the daily moves keep their
  distribution. The level before a year is the sum of the earlier years'
  totals; a snapshot therefore generates only the years it shows, plus one
  cached draw per year since the origin.
- The index: annual drift :data:`INDEX_DRIFT` and volatility
  :data:`INDEX_VOLATILITY`; each year scales the volatility by a factor in
  [0.8, 1.2] and shifts the drift by N(0, 5 %), so some years are calmer.
- A stock's daily log-return is its drift, plus ``beta`` times the index's
  demeaned daily log-return, plus its own normal noise (at least a quarter
  of its volatility), so the beta computed from the history lands near the
  profile's; each year scales the volatility by [0.8, 1.2] and shifts the
  drift by N(0, 8 %).
- Levels: each ticker closes on :data:`PRICE_ANCHOR` at its profile's price
  times ``exp(N(0, 8 %))`` (drawn per ticker), the index near
  :data:`INDEX_LEVEL`; before and after, the path wanders as the drift and
  volatility make it.
- Volume: the profile's average times lognormal noise, higher on large
  moves (both average to 1).

A random walk with drift has no memory: past prices say nothing about the
next move beyond the drift, which is what a backtest on this market should
find (docs/track-record.md).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import math
import random
from collections.abc import Callable
from datetime import date, timedelta

from ..records import PricePoint
from .provider import TRADING_DAYS_PER_YEAR
from .simulated_universe import TickerProfile

#: The first session of the simulated market (a Monday).
HISTORY_ORIGIN = date(2006, 1, 2)
#: The last day the simulation extends to; later dates are refused, not generated.
HISTORY_END = date(2100, 12, 31)
#: The session whose close is the profile's price level (times a per-ticker factor).
PRICE_ANCHOR = date(2026, 6, 30)
INDEX_DRIFT, INDEX_VOLATILITY, INDEX_LEVEL = 0.07, 0.16, 5000.0
#: The smallest close the path shows (prices are rounded to cents).
MIN_CLOSE = 0.01
_DAILY = 1.0 / TRADING_DAYS_PER_YEAR
_INDEX = "SIM_INDEX"


class OutsideHistoryError(ValueError):
    """A day before :data:`HISTORY_ORIGIN` or after :data:`HISTORY_END` was asked for."""


def stable_seed(*parts: str) -> int:
    """A seed that is the same in every process (unlike ``hash()``, which is salted)."""
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def _rng(*parts: str) -> random.Random:
    return random.Random(stable_seed(*parts))  # noqa: S311 - simulation, not crypto


@functools.lru_cache(maxsize=128)
def year_sessions(year: int) -> tuple[date, ...]:
    """The simulated sessions of ``year``: its weekdays from the origin on."""
    day = max(date(year, 1, 1), HISTORY_ORIGIN)
    days: list[date] = []
    while day.year == year:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return tuple(days)


def _bridge(rng: random.Random, count: int, sigma: float, total: float) -> list[float]:
    """``count`` normal steps of deviation ``sigma`` conditioned to add up to ``total``."""
    steps = [rng.gauss(0.0, sigma) for _ in range(count)]
    shift = (math.fsum(steps) - total) / count
    return [step - shift for step in steps]


# ---------------------------------------------------------------------------
# the index
# ---------------------------------------------------------------------------


@functools.cache
def _index_year(year: int) -> tuple[float, float, float]:
    """The index's ``(daily drift, daily volatility, total demeaned move)`` of ``year``."""
    rng = _rng("index-year", str(year))
    sigma = INDEX_VOLATILITY * rng.uniform(0.8, 1.2) * math.sqrt(_DAILY)
    mu = (INDEX_DRIFT + rng.gauss(0.0, 0.05)) * _DAILY - 0.5 * sigma**2
    total = rng.gauss(0.0, sigma * math.sqrt(len(year_sessions(year))))
    return mu, sigma, total


@functools.lru_cache(maxsize=256)
def index_shocks(year: int) -> tuple[float, ...]:
    """The index's demeaned daily log-returns of ``year`` (they add up to its total)."""
    _, sigma, total = _index_year(year)
    return tuple(_bridge(_rng("index-days", str(year)), len(year_sessions(year)), sigma, total))


@functools.cache
def _index_start(year: int) -> float:
    """The index's log level before the first session of ``year`` (0 before the origin)."""
    if year <= HISTORY_ORIGIN.year:
        return 0.0
    mu, _, total = _index_year(year - 1)
    return _index_start(year - 1) + mu * len(year_sessions(year - 1)) + total


def _index_year_levels(year: int) -> list[float]:
    """The index's log level at each session of ``year``."""
    mu = _index_year(year)[0]
    moves = (mu + shock for shock in index_shocks(year))
    return list(itertools.accumulate(moves, initial=_index_start(year)))[1:]


@functools.cache
def _index_log_scale() -> float:
    factor = _rng("index-anchor").gauss(0.0, 0.05)
    return math.log(INDEX_LEVEL) + factor - _log_level_on(PRICE_ANCHOR, _index_year_levels)


@functools.lru_cache(maxsize=256)
def _index_points(year: int) -> tuple[PricePoint, ...]:
    scale = _index_log_scale()
    return tuple(
        PricePoint(day=day, close=_close(scale + level), volume=0)
        for day, level in zip(year_sessions(year), _index_year_levels(year), strict=True)
    )


# ---------------------------------------------------------------------------
# a stock
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _stock_year(key: str, profile: TickerProfile, year: int) -> tuple[float, float, float, float]:
    """``(daily drift, daily volatility, own daily volatility, total own move)`` of ``year``."""
    rng = _rng("stock-year", key, str(year))
    sigma = profile.volatility * rng.uniform(0.8, 1.2) * math.sqrt(_DAILY)
    mu = (profile.drift + rng.gauss(0.0, 0.08)) * _DAILY - 0.5 * sigma**2
    market_sigma = INDEX_VOLATILITY * math.sqrt(_DAILY)
    own_sigma = math.sqrt(max(sigma**2 - (profile.beta * market_sigma) ** 2, (0.25 * sigma) ** 2))
    total = rng.gauss(0.0, own_sigma * math.sqrt(len(year_sessions(year))))
    return mu, sigma, own_sigma, total


@functools.lru_cache(maxsize=4096)
def _stock_start(key: str, profile: TickerProfile, year: int) -> float:
    """The stock's log level before the first session of ``year`` (0 before the origin)."""
    if year <= HISTORY_ORIGIN.year:
        return 0.0
    mu, _, _, own_total = _stock_year(key, profile, year - 1)
    market_total = _index_year(year - 1)[2]
    change = mu * len(year_sessions(year - 1)) + profile.beta * market_total + own_total
    return _stock_start(key, profile, year - 1) + change


@functools.lru_cache(maxsize=512)
def _stock_moves(
    key: str, profile: TickerProfile, year: int
) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """The stock's daily log-returns and volumes of ``year``."""
    mu, sigma, own_sigma, own_total = _stock_year(key, profile, year)
    rng = _rng("stock-days", key, str(year))
    own = _bridge(rng, len(year_sessions(year)), own_sigma, own_total)
    returns, volumes = [], []
    for market, noise in zip(index_shocks(year), own, strict=True):
        move = profile.beta * market + noise
        returns.append(mu + move)
        # Volume rises on large moves, as it does in real markets; the lognormal
        # noise and the surge both average to 1.
        surge = (1.0 + 0.5 * abs(move) / sigma) / 1.4
        volumes.append(int(profile.avg_volume * math.exp(rng.gauss(-0.045, 0.3)) * surge))
    return tuple(returns), tuple(volumes)


def _stock_year_levels(key: str, profile: TickerProfile, year: int) -> list[float]:
    """The stock's log level at each session of ``year``."""
    returns, _ = _stock_moves(key, profile, year)
    start = _stock_start(key, profile, year)
    return list(itertools.accumulate(returns, initial=start))[1:]


@functools.lru_cache(maxsize=256)
def _stock_log_scale(key: str, profile: TickerProfile) -> float:
    factor = _rng("stock-anchor", key).gauss(0.0, 0.08)
    level = _log_level_on(PRICE_ANCHOR, lambda year: _stock_year_levels(key, profile, year))
    return math.log(profile.price) + factor - level


@functools.lru_cache(maxsize=2048)
def _stock_points(key: str, profile: TickerProfile, year: int) -> tuple[PricePoint, ...]:
    scale = _stock_log_scale(key, profile)
    _, volumes = _stock_moves(key, profile, year)
    return tuple(
        PricePoint(day=day, close=_close(scale + level), volume=volume)
        for day, level, volume in zip(
            year_sessions(year), _stock_year_levels(key, profile, year), volumes, strict=True
        )
    )


# ---------------------------------------------------------------------------
# windows
# ---------------------------------------------------------------------------


def _close(log_price: float) -> float:
    return max(MIN_CLOSE, round(math.exp(log_price), 2))


def _log_level_on(day: date, levels_of_year: Callable[[int], list[float]]) -> float:
    """The log level at the session ``day`` (a weekday inside the history)."""
    sessions = year_sessions(day.year)
    return levels_of_year(day.year)[sessions.index(day)]


def _check_range(start: date, end: date) -> None:
    if start < HISTORY_ORIGIN:
        raise OutsideHistoryError(
            f"the simulated market opens on {HISTORY_ORIGIN.isoformat()}; "
            f"{start.isoformat()} is before it"
        )
    if end > HISTORY_END:
        raise OutsideHistoryError(
            f"the simulated market ends on {HISTORY_END.isoformat()}; {end.isoformat()} is after it"
        )


def _window(
    points_of_year: Callable[[int], tuple[PricePoint, ...]], start: date, end: date
) -> tuple[PricePoint, ...]:
    _check_range(start, end)
    out: list[PricePoint] = []
    for year in range(start.year, end.year + 1):
        points = points_of_year(year)
        sessions = year_sessions(year)
        lo = bisect.bisect_left(sessions, start) if year == start.year else 0
        hi = bisect.bisect_right(sessions, end) if year == end.year else len(sessions)
        out.extend(points[lo:hi])
    return tuple(out)


def stock_history(
    key: str, profile: TickerProfile, *, start: date, end: date
) -> tuple[PricePoint, ...]:
    """The ticker's sessions from ``start`` to ``end`` inclusive, oldest first.

    Raises :class:`OutsideHistoryError` outside [:data:`HISTORY_ORIGIN`,
    :data:`HISTORY_END`].
    """
    return _window(lambda year: _stock_points(key, profile, year), start, end)


def index_history(*, start: date, end: date) -> tuple[PricePoint, ...]:
    """The index's sessions from ``start`` to ``end`` inclusive (volume 0), oldest first."""
    return _window(_index_points, start, end)
