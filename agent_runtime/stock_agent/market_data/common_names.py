"""What people call the simulated companies besides their registered names.

"How are exxon and pfizer doing?" names Exxon Mobil by the word everybody
uses for it; the registered name alone ("Exxon Mobil Corporation") would need
both words. Only names that are unambiguous in a sentence about stocks are
listed: "Meta" and "Home" are English words first, so Meta Platforms keeps
its full name.
"""

from __future__ import annotations

from collections.abc import Mapping

COMMON_NAMES: Mapping[str, tuple[str, ...]] = {
    "XOM": ("Exxon", "ExxonMobil"),
    "JPM": ("JPMorgan", "JP Morgan", "J.P. Morgan"),
    "BRK.B": ("Berkshire",),
    "DIS": ("Disney",),
    "CSCO": ("Cisco",),
    "GOOGL": ("Google",),
    "PG": ("P&G", "Procter and Gamble"),
    "JNJ": ("J&J", "Johnson and Johnson"),
    "KO": ("Coke",),
    "AMD": ("Advanced Micro",),
    "META": ("Facebook",),
    "WMT": ("Wal-Mart",),
}
