"""The request plan as the graph's rules make it, for tests of the plan and of its signals.

:func:`plan_of` reads a prompt the way :func:`stock_agent.nodes.plan_turn` does
(a complete report's vocabulary, the simulated provider's symbols and names),
with the session given as the symbols it remembers.
"""

from __future__ import annotations

from stock_agent.context import Dependencies, reference_figure_groups
from stock_agent.settings import AgentSettings
from stock_agent.understanding.names import in_order_of_mention
from stock_agent.understanding.parsing import parse_request
from stock_agent.understanding.plan import RequestPlan, plan_request
from stock_agent.understanding.vocabulary import build_vocabulary

DEPS = Dependencies.from_settings(AgentSettings())  # simulated data, offline model
VOCABULARY = build_vocabulary(reference_figure_groups())


def plan_of(
    prompt: str,
    *,
    session: tuple[str, ...] = (),
    last: tuple[str, ...] | None = None,
    model: bool = False,
    known: frozenset[str] | None = None,
    watchlist: tuple[str, ...] | None = None,
) -> RequestPlan:
    """The rules' plan of ``prompt`` in a session holding ``session`` (the last turn's too,
    unless ``last`` says otherwise); ``model``: a model is configured; ``watchlist``: the
    user's (``None``: not known)."""
    parsed = parse_request(
        prompt,
        known_symbols=DEPS.parser_symbols if known is None else known,
        figure_words=VOCABULARY.figure_words,
    )
    names = DEPS.names.resolve(prompt, boundaries=VOCABULARY.figure_words)
    return plan_request(
        prompt,
        parsed=parsed,
        named=in_order_of_mention(list(zip(parsed.offsets, parsed.tickers, strict=True)), names),
        remembered=session,
        last=session if last is None else last,
        vocabulary=VOCABULARY,
        model_available=model,
        watchlist=watchlist,
    )
