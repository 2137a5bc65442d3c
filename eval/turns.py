"""One turn on the wire: the bytes sent, a readable label, and the PDFs read back."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from .cases import Turn
from .graders.deterministic import results_of
from .pdf import pdf_text
from .targets import Observation, read_report

OVERSIZE_PROMPT = "Analyze SIM_STOCK"


def request_body(turn: Turn, *, session_id: str) -> bytes:
    """The bytes sent for one turn (prompts stream, so the stage events show the route)."""
    if turn.prompt is not None:
        payload: Any = {"prompt": turn.prompt, "session_id": session_id, "stream": True}
    elif turn.oversize is not None:
        payload = {"prompt": OVERSIZE_PROMPT, "session_id": session_id, "pad": "x" * turn.oversize}
    elif turn.body is not None:
        return turn.body.encode("utf-8")
    else:
        payload = turn.payload
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def describe(turn: Turn) -> str:
    if turn.prompt is not None:
        return turn.prompt
    if turn.oversize is not None:
        return f"<{turn.oversize} padding bytes>"
    if turn.body is not None:
        return f"<raw body {turn.body[:60]!r}>"
    return f"<payload {json.dumps(turn.payload, ensure_ascii=False)[:60]}>"


def with_reports(
    obs: Observation, *, s3_client: Any = None, allow_local_files: bool = False
) -> Observation:
    """The observation with every stored PDF of its response read back (or why not).

    ``allow_local_files``: the agent runs on this machine, so a ``file://``
    report may be read (see :func:`eval.targets.read_report`).
    """
    reports: dict[str, tuple[bytes, str]] = {}
    errors: dict[str, str] = {}
    refs: list[tuple[str, Any]] = [(str(r.get("symbol")), r.get("report")) for r in results_of(obs)]
    comparison = obs.response.get("comparison") if obs.response else None
    if isinstance(comparison, dict):
        refs.append(("comparison", comparison.get("report")))
    for name, report in refs:
        try:
            data = read_report(
                report if isinstance(report, dict) else {},
                s3_client=s3_client,
                allow_local_files=allow_local_files,
            )
            reports[name] = (data, pdf_text(data))
        except Exception as err:  # an unreadable PDF is a grading failure, not a crash
            errors[name] = f"{type(err).__name__}: {err}"[:200]
    return replace(obs, reports=reports, report_errors=errors)
