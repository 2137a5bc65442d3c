"""Real market data from Yahoo Finance through the optional ``yfinance`` package.

``pip install 'stock-agent[yfinance]'``; the package is imported on first use.
What makes it survive real life:

- every response is kept in an on-disk :class:`~.cache.DayCache` keyed by
  ticker, kind and day, so a repeated request (and every peer lookup) costs
  no call until the cache's TTL runs out;
- rate limiting (``YFRateLimitError``) and transient network errors are
  retried a bounded number of times with exponential backoff; any other
  error, or the last failed attempt, becomes a :class:`MarketDataError`
  naming the ticker, what was being fetched and the cause;
- only the price history and ``Ticker.info`` are essential. Statements,
  news, the benchmark and the peers degrade on their own: the affected
  figures are n/a with the reason in their source, never the whole report.

The frames yfinance returns are read through their index and columns only
(``frame.index``, ``frame.columns``, ``frame.loc``), so nothing here needs
pandas itself.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn

from ..records import Benchmark, Headline, PeerFigures, PricePoint, StockSnapshot
from .cache import DayCache
from .provider import (
    AnnualStatements,
    DailyHistory,
    MarketDataError,
    UnknownTickerError,
    _as_date,
    build_snapshot,
    history_start,
    peer_figures,
)

logger = logging.getLogger(__name__)

MAX_HEADLINES = 5
MAX_PEERS = 6
#: A last close older than this many calendar days before the request's date is stale
#: (a long weekend plus a holiday is four).
MAX_STALE_DAYS = 5
US_BENCHMARK = "SPY"
US_BENCHMARK_NAME = "SPDR S&P 500 ETF Trust"
HISTORY_SOURCE = "yfinance daily closes (Ticker.history, auto-adjusted)"
#: Errors worth another attempt: Yahoo's rate limiting and network trouble.
TRANSIENT_ERRORS = frozenset(
    {
        "YFRateLimitError",
        "ConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "Timeout",
        "TimeoutError",
        "CurlError",
        "ChunkedEncodingError",
    }
)

INFO_FIELDS: Mapping[str, str] = {
    "market_cap": "yfinance Ticker.info['sharesOutstanding'] x last close",
    "pe_ratio": "yfinance Ticker.info['trailingPE']",
    "forward_pe": "yfinance Ticker.info['forwardPE']",
    "price_to_book": "yfinance Ticker.info['priceToBook']",
    "dividend_yield": "yfinance Ticker.info['dividendRate'] / last close",
    "revenue_ttm": "yfinance Ticker.info['totalRevenue']",
    "profit_margin": "yfinance Ticker.info['profitMargins']",
    "beta": "yfinance Ticker.info['beta']",
    "eps": "yfinance Ticker.info['trailingEps']",
}

#: Sector peers of well-known US listings (Yahoo Finance gives no peer list).
SECTOR_PEERS: Mapping[str, tuple[str, ...]] = {
    "Technology": ("AAPL", "MSFT", "NVDA", "AMD", "INTC", "CSCO", "ORCL", "ADBE"),
    "Communication Services": ("GOOGL", "META", "NFLX", "DIS", "T", "VZ"),
    "Consumer Cyclical": ("AMZN", "TSLA", "HD", "MCD", "NKE", "LOW"),
    "Consumer Defensive": ("KO", "PG", "WMT", "PEP", "COST"),
    "Financial Services": ("JPM", "BRK-B", "V", "MA", "BAC", "GS"),
    "Healthcare": ("JNJ", "PFE", "UNH", "MRK", "ABBV", "LLY"),
    "Energy": ("XOM", "CVX", "COP", "SLB"),
    "Industrials": ("BA", "CAT", "GE", "HON", "UPS"),
}


def _is_transient(exc: BaseException) -> bool:
    return any(cls.__name__ in TRANSIENT_ERRORS for cls in type(exc).__mro__)


def _number(value: Any) -> float | None:
    """A finite float, or None for missing, non-numeric, boolean or NaN/inf values."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any, default: str) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else default


def map_dividend_yield(info: Mapping[str, Any], price: float) -> float | None:
    """Dividend yield as a fraction, whatever yfinance version produced ``info``.

    yfinance's ``dividendYield`` switched from a fraction to a percentage
    (0.44 meaning 0.44 %) in 0.2.54, which is how figures end up scaled
    twice. We prefer the unambiguous ``dividendRate / price`` (money per
    share over price), then ``trailingAnnualDividendYield`` (a fraction), and
    only then ``dividendYield`` read as a percentage.
    """
    rate = _number(info.get("dividendRate"))
    if rate is not None and price > 0:
        result: float | None = rate / price
    elif (trailing := _number(info.get("trailingAnnualDividendYield"))) is not None:
        result = trailing
    elif (percent := _number(info.get("dividendYield"))) is not None:
        result = percent / 100.0
    else:
        result = None
    if result is not None and not 0.0 <= result < 0.5:
        logger.warning("discarding implausible dividend yield %r", result)
        return None
    return result


def map_headlines(news: Any) -> tuple[Headline, ...]:
    """Real headlines from yfinance's ``Ticker.news`` (old flat or new ``content`` shape)."""
    headlines: list[Headline] = []
    if not isinstance(news, list):
        return ()
    for item in news:
        if not isinstance(item, Mapping):
            continue
        content = item.get("content")
        if isinstance(content, Mapping):  # yfinance >= 0.2.50
            title = content.get("title")
            provider = content.get("provider")
            publisher = provider.get("displayName") if isinstance(provider, Mapping) else None
            link = content.get("canonicalUrl") or content.get("clickThroughUrl")
            url = link.get("url") if isinstance(link, Mapping) else None
            published = content.get("pubDate") or content.get("displayTime")
        else:
            title, publisher, url = item.get("title"), item.get("publisher"), item.get("link")
            stamp = _number(item.get("providerPublishTime"))
            published = (
                datetime.fromtimestamp(stamp, tz=UTC).isoformat() if stamp is not None else None
            )
        if not (isinstance(title, str) and title.strip() and isinstance(url, str)):
            continue
        if not url.startswith(("https://", "http://")):
            continue
        headlines.append(
            Headline(
                title=title.strip(),
                publisher=_text(publisher, "unknown"),
                url=url,
                published=_text(published, ""),
            )
        )
        if len(headlines) >= MAX_HEADLINES:
            break
    return tuple(headlines)


#: A close-to-close move within this fraction of a split's ratio, on the split day, means
#: the frame's earlier closes were not adjusted for it.
SPLIT_TOLERANCE = 0.1


def history_rows(history: Any, *, as_of: date) -> list[list[Any]]:
    """``[iso day, close, volume]`` rows from a ``Ticker.history`` frame (JSON-ready).

    Rows without a positive finite close (yfinance's NaN rows) are dropped and
    missing days stay missing. The frame is auto-adjusted; should a split in
    its ``Stock Splits`` column not have been applied (the closes jump by the
    split's ratio that day), the earlier closes and volumes are adjusted here
    (:func:`apply_unadjusted_splits`).
    """
    rows: list[list[Any]] = []
    if getattr(history, "empty", False) or "Close" not in history.columns:
        return rows  # yfinance answers an unknown ticker with an empty frame
    splits = history["Stock Splits"] if "Stock Splits" in history.columns else None
    ratios = list(splits) if splits is not None else [0.0] * len(history.index)
    found: dict[str, float] = {}
    for stamp, close, volume, split in zip(
        history.index, history["Close"], history["Volume"], ratios, strict=True
    ):
        day = stamp.date() if isinstance(stamp, datetime) else stamp  # pandas Timestamp too
        price = _number(close)
        ratio = _number(split)
        if ratio is not None and ratio > 0 and ratio != 1.0 and day <= as_of:
            found[day.isoformat()] = ratio
        if price is None or price <= 0 or day > as_of:
            continue
        rows.append([day.isoformat(), round(price, 4), int(_number(volume) or 0)])
    rows.sort(key=lambda row: str(row[0]))
    return apply_unadjusted_splits(rows, found)


def apply_unadjusted_splits(rows: list[list[Any]], splits: Mapping[str, float]) -> list[list[Any]]:
    """Divide the closes before a split day by its ratio (volumes times it) where the frame
    shows the split's jump, i.e. the provider did not adjust for it; else leave them."""
    days = [str(row[0]) for row in rows]
    for split_day, ratio in sorted(splits.items(), reverse=True):
        index = next((i for i, day in enumerate(days) if day >= split_day), None)
        if index is None or index == 0:
            continue
        jump = float(rows[index - 1][1]) / float(rows[index][1])
        if abs(jump / ratio - 1.0) > SPLIT_TOLERANCE:
            continue  # already adjusted: no jump of the split's size
        logger.warning(
            "closes before the %s split (%g:1) were not adjusted; adjusting", split_day, ratio
        )
        for row in rows[:index]:
            row[1] = round(float(row[1]) / ratio, 4)
            row[2] = int(row[2] * ratio)
    return rows


def _points(rows: Sequence[Sequence[Any]]) -> list[PricePoint]:
    return [
        PricePoint(day=date.fromisoformat(d), close=float(c), volume=int(v)) for d, c, v in rows
    ]


def statement_rows(frame: Any, labels: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """``{label: {fiscal year end: value}}`` from an annual statement frame.

    yfinance's statements have one row per line item and one column per
    fiscal year (newest first); absent line items are simply left out.
    """
    out: dict[str, dict[str, float | None]] = {}
    if frame is None or getattr(frame, "empty", True):
        return out
    for label in labels:
        if label not in frame.index:
            continue
        out[label] = {
            (col.date() if isinstance(col, datetime) else col).isoformat(): _number(
                frame.loc[label, col]
            )
            for col in frame.columns
        }
    return out


INCOME_ROWS = ("Total Revenue", "Diluted EPS")
CASHFLOW_ROWS = ("Free Cash Flow", "Operating Cash Flow", "Capital Expenditure")
BALANCE_ROWS = ("Total Debt", "Stockholders Equity")


def map_statements(rows: Mapping[str, Mapping[str, float | None]]) -> AnnualStatements | None:
    """Annual statements from :func:`statement_rows` of the three frames, oldest year first."""
    years = sorted({day for series in rows.values() for day in series})
    if not years:
        return None

    def series(label: str) -> tuple[float | None, ...]:
        values = rows.get(label, {})
        return tuple(values.get(day) for day in years)

    def latest(label: str) -> float | None:
        return series(label)[-1] if label in rows else None

    fcf = latest("Free Cash Flow")
    if fcf is None:
        ocf, capex = latest("Operating Cash Flow"), latest("Capital Expenditure")
        fcf = ocf + capex if ocf is not None and capex is not None else None  # capex < 0
    return AnnualStatements(
        fiscal_year_ends=tuple(date.fromisoformat(day) for day in years),
        revenue=series("Total Revenue"),
        diluted_eps=series("Diluted EPS"),
        free_cash_flow=fcf,
        total_debt=latest("Total Debt"),
        shareholders_equity=latest("Stockholders Equity"),
        source="yfinance Ticker.income_stmt, .cashflow, .balance_sheet",
    )


class YFinanceProvider:
    """Real market data from Yahoo Finance, cached on disk and retried with backoff.

    ``ticker_factory`` builds a ``yfinance.Ticker``-like object (``.history``,
    ``.info``, ``.news``, ``.income_stmt``, ``.cashflow``, ``.balance_sheet``);
    it defaults to ``yfinance.Ticker``, imported on first use so the package
    stays optional. Tests inject one that returns recorded frames.
    """

    name = "yfinance"

    def __init__(
        self,
        *,
        ticker_factory: Callable[[str], Any] | None = None,
        cache: DayCache | None = None,
        max_attempts: int = 3,
        backoff_seconds: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        peers: Mapping[str, tuple[str, ...]] = SECTOR_PEERS,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self._factory = ticker_factory
        self._cache = cache
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._peers = peers

    def _ticker(self, symbol: str) -> Any:
        if self._factory is None:
            try:
                import yfinance  # type: ignore[import-not-found,unused-ignore]
            except ImportError:
                raise MarketDataError(
                    symbol,
                    "DATA_PROVIDER=yfinance needs the optional extra: "
                    "pip install 'stock-agent[yfinance]'",
                    retryable=False,
                ) from None
            self._factory = yfinance.Ticker
        return self._factory(yahoo_symbol(symbol))

    def _fetch(self, symbol: str, kind: str, day: date, call: Callable[[Any], Any]) -> Any:
        """``call(ticker)`` through the cache, retried on rate limits and network errors.

        A cached value not in the shape this kind of answer has is a miss; an
        empty answer is not cached (yfinance answers an outage with one).
        """
        if self._cache is not None:
            hit = self._cache.get(symbol, kind, day)
            if hit is not None:
                problem = CACHED_SHAPES[kind](hit.value, day)
                if problem is None:
                    return hit.value
                logger.warning("ignoring malformed cached %s of %s: %s", kind, symbol, problem)
        attempt = 0
        while True:
            attempt += 1
            try:
                value = call(self._ticker(symbol))
                break
            except (UnknownTickerError, MarketDataError):
                raise
            except Exception as exc:  # yfinance surfaces network trouble as many types
                cause = f"{type(exc).__name__}: {exc}"
                if not _is_transient(exc):
                    raise MarketDataError(
                        symbol, f"yfinance {kind} for {symbol} failed: {cause}", retryable=True
                    ) from exc
                if attempt >= self._max_attempts:
                    raise MarketDataError(
                        symbol,
                        f"yfinance {kind} for {symbol} failed after {attempt} attempts: {cause}",
                        retryable=True,
                    ) from exc
                delay = self._backoff * 2 ** (attempt - 1)
                logger.warning(
                    "yfinance %s for %s: %s; retry %d in %.1fs", kind, symbol, cause, attempt, delay
                )
                self._sleep(delay)
        if self._cache is not None and value:
            self._cache.put(symbol, kind, day, value)
        return value

    def _history(self, symbol: str, day: date) -> list[PricePoint]:
        rows = self._fetch(
            symbol,
            "history",
            day,
            lambda t: history_rows(
                t.history(
                    start=history_start(day).isoformat(),
                    end=(day + timedelta(days=1)).isoformat(),
                    interval="1d",
                    auto_adjust=True,
                ),
                as_of=day,
            ),
        )
        return _points(rows)

    def _info(self, symbol: str, day: date) -> dict[str, Any]:
        info = self._fetch(symbol, "info", day, lambda t: _plain_info(t.info))
        return dict(info)

    def _optional(self, symbol: str, what: str, fetch: Callable[[], Any]) -> tuple[Any, str]:
        """``fetch()`` or ``(None, reason)``: a failure here degrades figures, not the report."""
        try:
            return fetch(), ""
        except (MarketDataError, UnknownTickerError) as err:
            logger.warning("%s: %s unavailable: %s", symbol, what, err)
            return None, f"{what} unavailable: {err}"

    def _raise_no_prices(self, symbol: str, day: date) -> NoReturn:
        """No prices for ``symbol``: an unknown ticker only if Yahoo answers for the benchmark.

        yfinance answers a ticker it does not know and a network it cannot
        reach alike, with an empty frame (it logs the cause). The benchmark
        always has prices, so asking for it tells the two apart: an outage is
        retryable, an unknown ticker is the caller's mistake.
        """
        if symbol != US_BENCHMARK and self._history(US_BENCHMARK, day):
            raise UnknownTickerError(
                symbol, provider=self.name, hint="Yahoo Finance has no prices (unknown or delisted)"
            )
        raise MarketDataError(
            symbol,
            f"Yahoo Finance returned no prices for {symbol} nor for {US_BENCHMARK}: "
            "it is unreachable or not answering",
            retryable=True,
        )

    def benchmark_for(self, symbol: str) -> str:
        """SPY for US listings (the only listings this provider benchmarks)."""
        return US_BENCHMARK

    def _long_history(self, symbol: str, start: date, day: date) -> list[PricePoint]:
        rows = self._fetch(
            symbol,
            f"history-from-{start.isoformat()}",
            day,
            lambda t: history_rows(
                t.history(
                    start=start.isoformat(),
                    end=(day + timedelta(days=1)).isoformat(),
                    interval="1d",
                    auto_adjust=True,
                ),
                as_of=day,
            ),
        )
        return _points(rows)

    def history(self, symbol: str, *, start: date, end: date) -> DailyHistory:
        """Years of auto-adjusted daily closes and SPY's over the same days (US listings),
        cached per ticker, start and day like every other response."""
        key = symbol.strip().upper()
        first, day = _as_date(start), _as_date(end)
        points = self._long_history(key, first, day)
        if not points:
            raise UnknownTickerError(
                key, provider=self.name, hint="Yahoo Finance has no prices for that period"
            )
        info, _ = self._optional(key, "info", lambda: self._info(key, day))
        currency = _text((info or {}).get("currency"), "USD").upper()
        benchmark, why = None, ""
        if currency != "USD":
            why = f"no benchmark for a listing in {currency} (SPY is for US ones)"
        elif key != US_BENCHMARK:
            bench, why = self._optional(
                key, f"{US_BENCHMARK} history", lambda: self._long_history(US_BENCHMARK, first, day)
            )
            if bench:
                benchmark = Benchmark(US_BENCHMARK, US_BENCHMARK_NAME, tuple(bench))
        return DailyHistory(
            symbol=key,
            currency=currency,
            data_source=self.name,
            start=first,
            prices=tuple(points),
            benchmark=benchmark,
            source=HISTORY_SOURCE,
            revision=f"yfinance download of {day.isoformat()} from {first.isoformat()}",
            benchmark_missing=why,
        )

    def snapshot(self, symbol: str, *, as_of: date) -> StockSnapshot:
        key = symbol.strip().upper()
        day = _as_date(as_of)
        points = self._history(key, day)
        if not points:
            self._raise_no_prices(key, day)
        stale = (day - points[-1].day).days
        if stale > MAX_STALE_DAYS:
            raise MarketDataError(
                key,
                f"yfinance prices for {key} are stale: the last close is {points[-1].day}, "
                f"{stale} days before {day}",
                retryable=False,
            )
        info = self._info(key, day)
        news, _ = self._optional(
            key, "news", lambda: self._fetch(key, "news", day, lambda t: _plain_news(t.news))
        )
        reasons: dict[str, str] = {}
        statements, reasons["statements"] = self._optional(
            key,
            "statements",
            lambda: map_statements(self._fetch(key, "statements", day, _statement_frames)),
        )
        if statements is None and not reasons["statements"]:
            reasons["statements"] = "Yahoo Finance has no annual statements"
        benchmark = None
        currency = _text(info.get("currency"), "USD").upper()
        if currency != "USD":
            reasons["benchmark"] = f"no benchmark for a listing in {currency} (SPY is for US ones)"
        elif key != US_BENCHMARK:
            prices, reasons["benchmark"] = self._optional(
                key, f"{US_BENCHMARK} history", lambda: self._history(US_BENCHMARK, day)
            )
            if prices:
                benchmark = Benchmark(US_BENCHMARK, US_BENCHMARK_NAME, tuple(prices))
            elif not reasons["benchmark"]:
                reasons["benchmark"] = f"Yahoo Finance has no {US_BENCHMARK} prices"
        snap = self.map_snapshot(
            key,
            info=info,
            points=points,
            news=news,
            statements=statements,
            benchmark=benchmark,
            unavailable={k: v for k, v in reasons.items() if v},
        )
        return dataclasses.replace(snap, peers=self._peer_figures(key, snap.sector, day))

    def _peer_figures(self, symbol: str, sector: str, day: date) -> tuple[PeerFigures, ...]:
        found: list[PeerFigures] = []
        for peer in self._peers.get(sector, ())[:MAX_PEERS]:
            if peer.replace("-", ".") == symbol:
                continue

            def build(peer: str = peer) -> StockSnapshot:
                return self.map_snapshot(
                    peer,
                    info=self._info(peer, day),
                    points=self._history(peer, day),
                    news=None,
                    statements=None,
                )

            snap, _ = self._optional(symbol, f"peer {peer}", build)
            if snap is not None:
                found.append(peer_figures(snap))
        return tuple(found)

    def map_snapshot(
        self,
        symbol: str,
        *,
        info: Mapping[str, Any],
        points: Sequence[PricePoint],
        news: Any,
        statements: AnnualStatements | None = None,
        benchmark: Benchmark | None = None,
        unavailable: Mapping[str, str] | None = None,
    ) -> StockSnapshot:
        """Map ``Ticker.info`` fields onto the snapshot (fractions stay fractions)."""
        if not points:
            raise UnknownTickerError(symbol, provider=self.name, hint="Yahoo Finance has no prices")
        current = points[-1].close
        shares = _number(info.get("sharesOutstanding"))
        market_cap = current * shares if shares else _number(info.get("marketCap"))
        if market_cap is None:
            raise MarketDataError(
                symbol, f"Yahoo Finance has no market capitalisation for {symbol}", retryable=False
            )
        return build_snapshot(
            symbol=symbol,
            company_name=_text(info.get("longName"), _text(info.get("shortName"), symbol)),
            sector=_text(info.get("sector"), "Unknown"),
            industry=_text(info.get("industry"), "Unknown"),
            currency=_text(info.get("currency"), "USD").upper(),
            data_source=self.name,
            prices=points,
            market_cap=market_cap,
            pe_ratio=_number(info.get("trailingPE")),
            forward_pe=_number(info.get("forwardPE")),
            price_to_book=_number(info.get("priceToBook")),
            dividend_yield=map_dividend_yield(info, current),
            revenue_ttm=_number(info.get("totalRevenue")),
            profit_margin=_number(info.get("profitMargins")),
            beta=_number(info.get("beta")),
            eps=_number(info.get("trailingEps")),
            headlines=map_headlines(news),
            statements=statements,
            benchmark=benchmark,
            unavailable=unavailable,
            field_sources=INFO_FIELDS,
            history_source=HISTORY_SOURCE,
        )


#: Yahoo's exchange suffixes (``7203.T``, ``BARC.L``): these keep their dot.
EXCHANGE_SUFFIXES = frozenset(
    {
        "T", "L", "TO", "V", "NE", "HK", "DE", "F", "PA", "AS", "MI", "MC", "SW", "AX", "NZ",
        "NS", "BO", "KS", "KQ", "SS", "SZ", "TW", "SA", "MX", "ST", "OL", "CO", "HE", "IR",
        "BR", "LS", "VI", "WA", "SI", "JK", "BK",
    }
)  # fmt: skip


def yahoo_symbol(symbol: str) -> str:
    """Yahoo's spelling: share classes take a hyphen (``BRK.B`` -> ``BRK-B``), exchange
    suffixes keep their dot (``7203.T``)."""
    root, dot, suffix = symbol.rpartition(".")
    if not dot or suffix in EXCHANGE_SUFFIXES:
        return symbol
    return f"{root}-{suffix}"


def _plain_info(info: Any) -> dict[str, Any]:
    """The JSON-safe part of ``Ticker.info`` (numbers, strings and booleans)."""
    if not isinstance(info, Mapping):
        return {}
    return {
        str(k): v
        for k, v in info.items()
        if isinstance(v, (str, bool, int)) or (isinstance(v, float) and math.isfinite(v))
    }


def _history_shape(value: Any, day: date) -> str | None:
    """Why ``value`` is not :func:`history_rows` output for ``day``, or ``None``."""
    if not isinstance(value, list):
        return f"a {type(value).__name__}, not a list of rows"
    previous = ""
    for row in value:
        if not (isinstance(row, list) and len(row) == 3):
            return f"row {row!r:.60} is not [day, close, volume]"
        stamp, close, volume = row
        try:
            when = date.fromisoformat(stamp) if isinstance(stamp, str) else None
        except ValueError:
            when = None
        if when is None or when > day or stamp <= previous:
            return f"row day {stamp!r:.40} is not an ISO date in order up to {day}"
        if isinstance(close, bool) or not isinstance(close, (int, float)):
            return f"close {close!r:.40} is not a number"
        if not (math.isfinite(close) and close > 0):
            return f"close {close!r} is not a positive number"
        if isinstance(volume, bool) or not isinstance(volume, int) or volume < 0:
            return f"volume {volume!r:.40} is not a count"
        previous = stamp
    return None


def _info_shape(value: Any, day: date) -> str | None:
    if not isinstance(value, dict):
        return f"a {type(value).__name__}, not an object"
    if value != _plain_info(value):
        return "it holds values other than strings, numbers and booleans"
    return None


def _news_shape(value: Any, day: date) -> str | None:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return "not a list of objects"
    return None


def _statements_shape(value: Any, day: date) -> str | None:
    if not isinstance(value, dict):
        return f"a {type(value).__name__}, not an object"
    for label, series in value.items():
        if not isinstance(series, dict):
            return f"{label!r:.40} is not an object of fiscal years"
        for year, number in series.items():
            try:
                date.fromisoformat(year)
            except (TypeError, ValueError):
                return f"{label!r:.40} has a fiscal year {year!r:.40} that is not an ISO date"
            if number is not None and _number(number) is None:
                return f"{label!r:.40} has {number!r:.40}, not a number"
    return None


#: Per kind of answer: why a cached value is not in the shape that kind has, or ``None``.
CACHED_SHAPES: Mapping[str, Callable[[Any, date], str | None]] = {
    "history": _history_shape,
    "info": _info_shape,
    "news": _news_shape,
    "statements": _statements_shape,
}


def _plain_news(news: Any) -> list[Any]:
    return [item for item in news if isinstance(item, Mapping)] if isinstance(news, list) else []


def _statement_frames(ticker: Any) -> dict[str, dict[str, float | None]]:
    rows = statement_rows(ticker.income_stmt, INCOME_ROWS)
    rows |= statement_rows(ticker.cashflow, CASHFLOW_ROWS)
    rows |= statement_rows(ticker.balance_sheet, BALANCE_ROWS)
    return rows
