"""What the graph does about a model that may be asleep (scaled to zero).

At the first node of a request that will need the model, :func:`wake_model`
asks the client to start it (in the background) and tells a streaming
caller when it is known to be starting. :func:`lookup_error` turns a failed
ticker lookup into the caller's error: ``model_starting`` (503 with
``retry_after``) when the model is starting, since "no ticker" would be
wrong: the name may be fine, the model is just not up yet.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from ..deadline import current
from ..errors import AgentError
from .types import ModelClient, ModelError

logger = logging.getLogger(__name__)

# A model that is scaled to zero (or still loading) fails with one of these.
COLD_START_CODES = frozenset({"model_no_capacity", "model_starting"})
# When neither the client nor the error knows: about an instance plus the container.
DEFAULT_STARTING_ETA_S = 600.0


def wake_model(model: ModelClient, *, progress: Callable[[dict[str, Any]], None]) -> None:
    """Start a sleeping model now; route the request's progress events to ``progress``."""
    control = current()
    if control is not None and control.progress is None:
        control.progress = progress
    wake = getattr(model, "wake", None)
    if callable(wake):
        wake()
    eta = starting_eta_s(model)
    if eta is not None:
        from .sagemaker import model_starting_event

        progress(model_starting_event(eta))


def starting_eta_s(model: ModelClient) -> float | None:
    """Seconds until the model should be up, when it is known to be starting."""
    estimate = getattr(model, "starting_eta_s", None)
    value = estimate() if callable(estimate) else None
    return float(value) if isinstance(value, int | float) else None


def cold_start_eta_s(err: ModelError, model: ModelClient) -> float:
    """Seconds until a starting model should answer: the client's estimate, else the error's."""
    return starting_eta_s(model) or err.retry_after or DEFAULT_STARTING_ETA_S


def lookup_error(err: ModelError, *, model: ModelClient) -> AgentError:
    """The caller's error when the model could not look up a company name."""
    if err.code in COLD_START_CODES:
        eta = cold_start_eta_s(err, model)
        minutes = max(1, round(eta / 60))
        return AgentError(
            "model_starting",
            "the model that looks up company names is starting after scale-to-zero "
            f"(about {minutes} minutes); try again then, or name the ticker, e.g. 'Analyze AAPL'",
            retry_after=math.ceil(eta),
        )
    return AgentError(
        "no_ticker",
        "no stock ticker found in the request, and the model that could look up a "
        f"company name is unavailable ({err.code}); name the ticker, e.g. 'Analyze AAPL'",
    )
