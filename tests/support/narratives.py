"""Narratives written from a narrative input (the JSON the model sees), for tests.

:func:`good_narrative` is what a careful analyst model would write: about 170
words in plain paragraphs, every figure copied from ``key_figures``, the
trend, valuation, risk and outlook each stated as the record labels them.
It scores 1.0 on the reward and passes the agent's number check.
"""

from __future__ import annotations

from typing import Any

VALUATION_PHRASES = {
    "undervalued": "looks undervalued",
    "fair": "looks fairly valued",
    "expensive": "looks expensive",
    "unknown": "cannot be judged from the data",
}


def good_narrative(payload: dict[str, Any]) -> str:
    """About 170 words, every figure copied, every point made, plain paragraphs."""
    fig, tech, fund = payload["key_figures"], payload["technical"], payload["fundamental"]
    valuation = VALUATION_PHRASES[fund["valuation"]]
    return (
        f"{payload['company']} last traded at {fig['Current Price']}, between its 52-week low "
        f"of {fig['52-Week Low']} and high of {fig['52-Week High']}. The shares are in an "
        f"{tech['trend']} by the trend test of the moving averages, with the 50-day average at "
        f"{fig['50-Day SMA']} and the 200-day average at {fig['200-Day SMA']}. Momentum is "
        f"{tech['momentum']}: the stock moved {fig['1-Month Return']} over one month and "
        f"{fig['3-Month Return']} over three months, and {fig['YTD Return']} this year.\n\n"
        f"On valuation, a trailing P/E of {fig['P/E Ratio']} and a forward P/E of "
        f"{fig['Forward P/E']} mean the stock {valuation} against its earnings. Profitability "
        f"is {fund['profitability']}, with a profit margin of {fig['Profit Margin']}, and the "
        f"dividend yield is {fig['Dividend Yield']}, which keeps income {fund['income']}.\n\n"
        f"The risk level is rated {payload['risk_level'].lower()}: annualized volatility of "
        f"{fig['Volatility (Annualized)']} is {tech['volatility_level']} and the beta is "
        f"{fig['Beta']}. The technical score is {fig['Technical Score']} and the fundamental "
        f"score is {fig['Fundamental Score']}, which together leave the overall outlook "
        f"{payload['outlook']} for the period the data covers, with the usual uncertainty of "
        f"any market."
    )


def terse_narrative(payload: dict[str, Any]) -> str:
    """A faithful but thin note: one figure, the trend only, far under 100 words.

    The number check passes it; the reward does not like it (too few figures,
    three of four points missing, too short): about 0.37 where
    :func:`good_narrative` scores 1.0.
    """
    fig, tech = payload["key_figures"], payload["technical"]
    return (
        f"{payload['company']} last traded at {fig['Current Price']} and the shares are in an "
        f"{tech['trend']}."
    )
