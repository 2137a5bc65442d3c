"""Data Gathering Agent: one structured :class:`StockSnapshot` per ticker.

Two providers stand behind one interface, :class:`MarketDataProvider`:

``simulated`` (the default, and what every test uses)
    A realistic, deterministic universe: ``SIM_STOCK`` (the article's example)
    plus well-known tickers with approximate price levels, share counts,
    revenue, margins, dividends and betas. Prices are a geometric random walk
    seeded by a stable hash of ``(symbol, as_of)``, so the same request always
    yields the same figures and different tickers show different trends and
    risk. Trading days are weekdays (no holiday calendar). There is no news:
    the simulation never invents headlines.

``yfinance``
    Real data through the optional ``yfinance`` package
    (``pip install stock-agent[yfinance]``), imported lazily on first use.

Every derived figure is computed here, once, from the price history by
:func:`build_snapshot`, so the invariants hold for both providers: the
52-week extremes are the max/min of ``prices``, the current price is the last
close, YTD is measured from the last close of the previous calendar year and
the 1-year return from the close one year earlier.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import random
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from .records import Headline, PricePoint, StockSnapshot

logger = logging.getLogger(__name__)

TRADING_DAYS_PER_YEAR = 252
AVERAGE_VOLUME_SESSIONS = 63  # about three months, like the usual "average volume"
MAX_HEADLINES = 5
PROVIDER_NAMES = ("simulated", "yfinance")


class UnknownTickerError(LookupError):
    """The provider has no such ticker (a caller's mistake, not retryable)."""

    def __init__(self, symbol: str, *, provider: str, hint: str = "") -> None:
        message = f"unknown ticker {symbol!r} for market-data provider {provider!r}"
        super().__init__(f"{message}; {hint}" if hint else message)
        self.symbol = symbol
        self.provider = provider


class MarketDataError(RuntimeError):
    """The provider failed; ``retryable`` says whether trying again may help."""

    def __init__(self, symbol: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.symbol = symbol
        self.message = message
        self.retryable = retryable


class MarketDataProvider(Protocol):
    """What the data-gathering stage needs from a source of market data."""

    name: str

    def snapshot(self, symbol: str, *, as_of: date) -> StockSnapshot: ...


# ---------------------------------------------------------------------------
# Derivations shared by both providers
# ---------------------------------------------------------------------------


def one_year_before(day: date) -> date:
    """The same calendar date one year earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def last_weekday_on_or_before(day: date) -> date:
    """The last trading day (Monday-Friday) not after ``day``."""
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def history_start(as_of: date) -> date:
    """First day of the history needed for ``as_of``.

    One calendar year back, or earlier when that is needed to include the last
    close of the previous year (YTD base), e.g. ``as_of`` = 31 December.
    """
    previous_year_end = last_weekday_on_or_before(date(as_of.year - 1, 12, 31))
    return min(one_year_before(as_of), previous_year_end)


def _as_date(value: date) -> date:
    """Accept a ``datetime`` too (it is a ``date`` subclass) but keep only the date."""
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise TypeError(f"as_of must be a datetime.date, got {type(value).__name__}")
    return value


def build_snapshot(
    *,
    symbol: str,
    company_name: str,
    sector: str,
    industry: str,
    currency: str,
    data_source: str,
    prices: Sequence[PricePoint],
    market_cap: float,
    pe_ratio: float | None = None,
    forward_pe: float | None = None,
    price_to_book: float | None = None,
    dividend_yield: float | None = None,
    revenue_ttm: float | None = None,
    profit_margin: float | None = None,
    beta: float | None = None,
    eps: float | None = None,
    headlines: Iterable[Headline] = (),
) -> StockSnapshot:
    """Derive every price-based figure from ``prices`` and assemble the snapshot.

    Both providers go through here so the snapshot's invariants hold by
    construction rather than by each provider's care. ``prices`` must be
    sorted oldest first with at least two sessions.
    """
    if len(prices) < 2:
        raise MarketDataError(symbol, f"not enough price history for {symbol}", retryable=False)
    closes = [p.close for p in prices]
    as_of = prices[-1].day
    current = closes[-1]

    previous_year = [p.close for p in prices if p.day.year < as_of.year]
    if previous_year:
        ytd_base = previous_year[-1]
    else:  # history starts inside the year: fall back to its first close
        logger.warning(
            "%s: no close from %d in the history; YTD from first close", symbol, as_of.year - 1
        )
        ytd_base = closes[0]

    year_ago = one_year_before(as_of)
    older = [p.close for p in prices if p.day <= year_ago]
    year_base = older[-1] if older else closes[0]

    log_returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    volatility = (
        statistics.stdev(log_returns) * math.sqrt(TRADING_DAYS_PER_YEAR)
        if len(log_returns) > 1
        else 0.0
    )
    recent_volumes = [p.volume for p in prices[-AVERAGE_VOLUME_SESSIONS:]]

    return StockSnapshot(
        symbol=symbol,
        company_name=company_name,
        sector=sector,
        industry=industry,
        currency=currency,
        as_of=as_of,
        data_source=data_source,
        prices=tuple(prices),
        current_price=current,
        market_cap=market_cap,
        week52_high=max(closes),
        week52_low=min(closes),
        ytd_return=current / ytd_base - 1.0,
        one_year_return=current / year_base - 1.0,
        annualized_volatility=volatility,
        average_volume=round(statistics.fmean(recent_volumes)),
        pe_ratio=pe_ratio,
        forward_pe=forward_pe,
        price_to_book=price_to_book,
        dividend_yield=dividend_yield,
        revenue_ttm=revenue_ttm,
        profit_margin=profit_margin,
        beta=beta,
        eps=eps,
        headlines=tuple(headlines),
    )


# ---------------------------------------------------------------------------
# Simulated provider
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TickerProfile:
    """Static facts of a simulated company (approximate, mid-2020s levels).

    Per-share ratios are not stored: EPS is ``revenue * margin / shares`` and
    P/E, P/B and yield follow from the simulated price, so they stay
    consistent with each other.
    """

    name: str
    sector: str
    industry: str
    price: float  # approximate price level the walk ends near
    shares: float
    revenue: float
    margin: float  # net profit margin, fraction
    forward_eps: float
    book_per_share: float
    dividend_per_share: float
    beta: float
    drift: float  # annual expected log-return
    volatility: float  # annual
    avg_volume: int
    currency: str = "USD"


def _p(*args: Any, **kwargs: Any) -> TickerProfile:
    return TickerProfile(*args, **kwargs)


# name, sector, industry, price, shares, revenue, margin, fwd EPS, book/share,
# dividend/share, beta, drift, volatility, average volume
SIMULATED_UNIVERSE: Mapping[str, TickerProfile] = {
    "SIM_STOCK": _p("Simulated Stock Inc.", "SIM_SECTOR", "SIM INDUSTRY",
                    29.0, 1.35e9, 4.99e9, 0.243, 0.95, 2.5, 0.135, 1.165, 0.10, 0.32, 2_400_000),
    "SIM_JP": _p("シミュレーション株式会社 (Simulated KK)", "Industrials",
                 "Specialty Industrial Machinery", 2510.0, 4.1e8, 1.32e12, 0.071, 268.0, 1900.0,
                 60.0, 0.8, 0.03, 0.22, 1_800_000, currency="JPY"),
    "SIM_ESC": _p("Bits & Bytes <Simulated> Corp.", "Technology", "Software—Application",
                  48.0, 2.1e8, 1.9e9, -0.06, 0.4, 9.0, 0.0, 1.6, -0.05, 0.55, 3_100_000),
    "AAPL": _p("Apple Inc.", "Technology", "Consumer Electronics",
               230.0, 1.49e10, 4.0e11, 0.24, 8.3, 4.4, 1.04, 1.2, 0.12, 0.27, 55_000_000),
    "MSFT": _p("Microsoft Corporation", "Technology", "Software—Infrastructure",
               430.0, 7.43e9, 2.7e11, 0.36, 14.5, 46.0, 3.32, 0.9, 0.14, 0.24, 21_000_000),
    "AMZN": _p("Amazon.com, Inc.", "Consumer Cyclical", "Internet Retail",
               215.0, 1.06e10, 6.5e11, 0.10, 6.3, 30.0, 0.0, 1.3, 0.12, 0.32, 40_000_000),
    "GOOGL": _p("Alphabet Inc.", "Communication Services", "Internet Content & Information",
                180.0, 1.22e10, 3.7e11, 0.30, 9.0, 27.0, 0.80, 1.0, 0.11, 0.30, 30_000_000),
    "META": _p("Meta Platforms, Inc.", "Communication Services", "Internet Content & Information",
               600.0, 2.52e9, 1.8e11, 0.38, 26.0, 73.0, 2.10, 1.25, 0.15, 0.36, 13_000_000),
    "NVDA": _p("NVIDIA Corporation", "Technology", "Semiconductors",
               130.0, 2.44e10, 1.5e11, 0.55, 4.5, 3.2, 0.04, 1.9, 0.30, 0.50, 250_000_000),
    "TSLA": _p("Tesla, Inc.", "Consumer Cyclical", "Auto Manufacturers",
               330.0, 3.2e9, 9.5e10, 0.07, 2.9, 23.0, 0.0, 2.3, 0.05, 0.60, 95_000_000),
    "BRK.B": _p("Berkshire Hathaway Inc.", "Financial Services", "Insurance—Diversified",
                480.0, 2.16e9, 3.7e11, 0.24, 22.0, 300.0, 0.0, 0.85, 0.09, 0.16, 4_000_000),
    "JPM": _p("JPMorgan Chase & Co.", "Financial Services", "Banks—Diversified",
              240.0, 2.8e9, 1.7e11, 0.33, 18.0, 120.0, 5.0, 1.05, 0.10, 0.22, 9_000_000),
    "JNJ": _p("Johnson & Johnson", "Healthcare", "Drug Manufacturers—General",
              155.0, 2.4e9, 8.9e10, 0.16, 10.8, 29.0, 4.96, 0.5, 0.03, 0.16, 7_000_000),
    "XOM": _p("Exxon Mobil Corporation", "Energy", "Oil & Gas Integrated",
              110.0, 4.3e9, 3.4e11, 0.10, 7.5, 62.0, 3.96, 0.85, 0.02, 0.24, 15_000_000),
    "KO": _p("The Coca-Cola Company", "Consumer Defensive", "Beverages—Non-Alcoholic",
             68.0, 4.3e9, 4.7e10, 0.23, 3.0, 6.2, 2.04, 0.45, 0.05, 0.14, 13_000_000),
    "PG": _p("The Procter & Gamble Company", "Consumer Defensive", "Household & Personal Products",
             165.0, 2.35e9, 8.4e10, 0.18, 7.0, 21.0, 4.2, 0.4, 0.05, 0.15, 7_000_000),
    "V": _p("Visa Inc.", "Financial Services", "Credit Services",
            340.0, 1.95e9, 3.7e10, 0.54, 12.8, 20.0, 2.36, 0.95, 0.11, 0.19, 6_000_000),
    "WMT": _p("Walmart Inc.", "Consumer Defensive", "Discount Stores",
              95.0, 8.0e9, 6.8e11, 0.028, 2.9, 11.5, 0.94, 0.55, 0.12, 0.20, 17_000_000),
    "DIS": _p("The Walt Disney Company", "Communication Services", "Entertainment",
              110.0, 1.8e9, 9.2e10, 0.07, 5.8, 56.0, 1.0, 1.35, 0.0, 0.28, 9_000_000),
    "INTC": _p("Intel Corporation", "Technology", "Semiconductors",
               22.0, 4.36e9, 5.3e10, -0.35, 0.9, 23.0, 0.0, 1.1, -0.15, 0.50, 80_000_000),
    "AMD": _p("Advanced Micro Devices, Inc.", "Technology", "Semiconductors",
              150.0, 1.62e9, 2.7e10, 0.08, 4.7, 36.0, 0.0, 1.9, 0.10, 0.50, 45_000_000),
    "NFLX": _p("Netflix, Inc.", "Communication Services", "Entertainment",
               1100.0, 4.3e8, 4.1e10, 0.24, 30.0, 58.0, 0.0, 1.3, 0.20, 0.34, 3_500_000),
    "T": _p("AT&T Inc.", "Communication Services", "Telecom Services",
            27.0, 7.2e9, 1.22e11, 0.09, 2.2, 14.0, 1.11, 0.6, 0.08, 0.20, 35_000_000),
    "PFE": _p("Pfizer Inc.", "Healthcare", "Drug Manufacturers—General",
              25.0, 5.67e9, 6.3e10, 0.13, 3.0, 16.0, 1.72, 0.55, -0.08, 0.22, 40_000_000),
    "BA": _p("The Boeing Company", "Industrials", "Aerospace & Defense",
             200.0, 7.6e8, 7.0e10, -0.15, -1.0, -5.0, 0.0, 1.45, 0.02, 0.38, 8_000_000),
    "HD": _p("The Home Depot, Inc.", "Consumer Cyclical", "Home Improvement Retail",
             380.0, 9.9e8, 1.6e11, 0.09, 15.5, 6.5, 9.2, 1.0, 0.06, 0.20, 3_500_000),
    "CSCO": _p("Cisco Systems, Inc.", "Technology", "Communication Equipment",
               65.0, 3.96e9, 5.6e10, 0.18, 3.8, 11.5, 1.64, 0.85, 0.08, 0.22, 20_000_000),
}  # fmt: skip


def known_symbols() -> frozenset[str]:
    """The simulated universe; the request parser uses it to tell tickers from words."""
    return frozenset(SIMULATED_UNIVERSE)


def _stable_seed(*parts: str) -> int:
    """A seed that is the same in every process (unlike ``hash()``, which is salted)."""
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def trading_days(start: date, end: date) -> list[date]:
    """Weekdays from ``start`` to ``end`` inclusive (the simulation has no holidays)."""
    days: list[date] = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _ratio(numerator: float, denominator: float) -> float | None:
    """A valuation ratio, or None where it is meaningless (non-positive denominator)."""
    if denominator <= 0:
        return None
    return numerator / denominator


class SimulatedProvider:
    """Deterministic, realistic market data for :data:`SIMULATED_UNIVERSE`.

    ``as_of`` on a weekend is moved back to the Friday, so the snapshot's
    ``as_of`` is always its last session and equal requests give equal data.
    """

    name = "simulated"

    def __init__(self, *, universe: Mapping[str, TickerProfile] | None = None) -> None:
        self._universe = dict(SIMULATED_UNIVERSE if universe is None else universe)

    def snapshot(self, symbol: str, *, as_of: date) -> StockSnapshot:
        key = symbol.strip().upper()
        profile = self._universe.get(key)
        if profile is None:
            raise UnknownTickerError(
                symbol,
                provider=self.name,
                hint=f"the simulated universe has {', '.join(sorted(self._universe))}",
            )
        session = last_weekday_on_or_before(_as_date(as_of))
        days = trading_days(history_start(session), session)
        rng = random.Random(_stable_seed("snapshot", key, session.isoformat()))  # noqa: S311 - simulation, not crypto
        prices = self._walk(profile, days, rng)
        current = prices[-1].close
        eps = profile.revenue * profile.margin / profile.shares
        snap = build_snapshot(
            symbol=key,
            company_name=profile.name,
            sector=profile.sector,
            industry=profile.industry,
            currency=profile.currency,
            data_source=self.name,
            prices=prices,
            market_cap=current * profile.shares,
            pe_ratio=_ratio(current, eps),
            forward_pe=_ratio(current, profile.forward_eps),
            price_to_book=_ratio(current, profile.book_per_share),
            dividend_yield=profile.dividend_per_share / current,
            revenue_ttm=profile.revenue,
            profit_margin=profile.margin,
            beta=profile.beta,
            eps=round(eps, 2),
        )
        logger.debug("simulated snapshot %s as of %s: %d sessions", key, session, len(prices))
        return snap

    @staticmethod
    def _walk(profile: TickerProfile, days: list[date], rng: random.Random) -> list[PricePoint]:
        """Geometric random walk scaled to end near the profile's price level.

        Daily log-returns are normal with the profile's drift and volatility,
        with a mild volatility regime drawn per request so that the same
        company is calmer in some years than in others.
        """
        sigma = profile.volatility * rng.uniform(0.8, 1.2) / math.sqrt(TRADING_DAYS_PER_YEAR)
        mu = (profile.drift + rng.gauss(0.0, 0.08)) / TRADING_DAYS_PER_YEAR - 0.5 * sigma**2
        log_level = 0.0
        levels = [0.0]
        shocks = [0.0]
        for _ in days[1:]:
            shock = rng.gauss(mu, sigma)
            log_level += shock
            levels.append(log_level)
            shocks.append(shock)
        end_price = profile.price * math.exp(rng.gauss(0.0, 0.08))
        scale = end_price / math.exp(log_level)
        points = []
        for day, level, shock in zip(days, levels, shocks, strict=True):
            # Volume rises on large moves, as it does in real markets; the
            # lognormal noise and the surge both average to 1.
            surge = (1.0 + 0.5 * abs(shock - mu) / sigma) / 1.4
            volume = profile.avg_volume * math.exp(rng.gauss(-0.045, 0.3)) * surge
            points.append(
                PricePoint(day=day, close=round(scale * math.exp(level), 2), volume=int(volume))
            )
        return points


# ---------------------------------------------------------------------------
# yfinance provider
# ---------------------------------------------------------------------------


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


def _history_points(history: Any, *, as_of: date) -> list[PricePoint]:
    """Daily closes from a ``Ticker.history`` frame, using only index/columns iteration."""
    points: list[PricePoint] = []
    rows = zip(history.index, history["Close"], history["Volume"], strict=True)
    for stamp, close, volume in rows:
        day = stamp.date() if isinstance(stamp, datetime) else stamp  # pandas Timestamp too
        price = _number(close)
        if price is None or price <= 0 or day > as_of:
            continue
        points.append(PricePoint(day=day, close=round(price, 4), volume=int(_number(volume) or 0)))
    points.sort(key=lambda p: p.day)
    return points


class YFinanceProvider:
    """Real market data from Yahoo Finance through the optional ``yfinance`` package.

    ``ticker_factory`` builds a ``yfinance.Ticker``-like object (``.history``,
    ``.info``, ``.news``); it defaults to ``yfinance.Ticker``, imported on
    first use so the package stays optional. Tests inject a fake.
    """

    name = "yfinance"

    def __init__(self, *, ticker_factory: Callable[[str], Any] | None = None) -> None:
        self._factory = ticker_factory

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
        return self._factory(symbol)

    def snapshot(self, symbol: str, *, as_of: date) -> StockSnapshot:
        key = symbol.strip().upper()
        day = _as_date(as_of)
        ticker = self._ticker(key)
        try:
            history = ticker.history(
                start=history_start(day).isoformat(),
                end=(day + timedelta(days=1)).isoformat(),
                interval="1d",
                auto_adjust=True,
            )
            points = _history_points(history, as_of=day)
            if not points:
                raise UnknownTickerError(
                    key, provider=self.name, hint="Yahoo Finance has no prices"
                )
            info = ticker.info or {}
            news = ticker.news
        except (UnknownTickerError, MarketDataError):
            raise
        except Exception as exc:  # yfinance surfaces network trouble as many types
            raise MarketDataError(
                key, f"yfinance failed for {key}: {type(exc).__name__}: {exc}", retryable=True
            ) from exc
        return self.map_snapshot(key, info=info, points=points, news=news)

    def map_snapshot(
        self, symbol: str, *, info: Mapping[str, Any], points: Sequence[PricePoint], news: Any
    ) -> StockSnapshot:
        """Map ``Ticker.info`` fields onto the snapshot (fractions stay fractions)."""
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
        )


def get_provider(name: str) -> MarketDataProvider:
    """The provider called ``name`` (``simulated`` | ``yfinance``)."""
    if name == "simulated":
        return SimulatedProvider()
    if name == "yfinance":
        return YFinanceProvider()
    raise ValueError(f"unknown market-data provider {name!r}: expected one of {PROVIDER_NAMES}")
