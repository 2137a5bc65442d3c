"""The simulated universe: the companies the simulated market lists, and their static facts.

``SIM_STOCK`` (the article's example) plus well-known tickers with
approximate price levels, share counts, revenue, margins, dividends, betas,
drifts and volatilities. :mod:`.simulated_history` turns a profile into one
daily price path; :mod:`.simulated` into snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
    price: float  # approximate price level: the close near PRICE_ANCHOR (simulated_history)
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
