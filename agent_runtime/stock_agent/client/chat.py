"""``stock-agent chat``: a conversation in the terminal, kept in a SQLite file.

Each line is one turn of the same session; every stage is printed as it
runs, then the answer. ``--session ID`` resumes an earlier conversation
(the id is printed at the start); the history lives in ``SESSION_DB``.
Empty lines are skipped; ``exit``, ``quit`` or end of input ends it.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from ..agent import StockAgent
from ..contract import validate_payload
from ..errors import AgentError

logger = logging.getLogger(__name__)

_EXIT = frozenset({"exit", "quit", ":q"})


def terminal_lines() -> Iterator[str]:
    """Lines typed at a terminal, with line editing and up-arrow history (readline)."""
    # Importing readline is what enables editing in input(); not on every platform.
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401
    while True:
        try:
            yield input()
        except EOFError:
            return


def new_session_id() -> str:
    return f"chat-{uuid.uuid4().hex}"


def _stage_line(event: dict[str, Any]) -> str:
    detail = event.get("symbol") or ", ".join(event.get("tickers", []) or [])
    status = event.get("status", "")
    error = event.get("error")
    tail = f" ({error['code']}: {error['message']})" if isinstance(error, dict) else ""
    return f"  . {event['stage']}{f' [{detail}]' if detail else ''}: {status}{tail}\n"


def _result_text(result: dict[str, Any]) -> str:
    lines = [str(result["text"]).rstrip()]
    for item in result.get("results", []):
        lines.append(f"Report: {item['report']['uri']}")
    comparison = result.get("comparison")
    if comparison and comparison.get("report"):
        lines.append(f"Comparison report: {comparison['report']['uri']}")
    return "\n".join(lines) + "\n"


def run_chat(
    agent: StockAgent,
    lines: Iterable[str],
    out: TextIO,
    *,
    session_id: str,
    prompt: str = "> ",
    echo: bool = False,
    actor: str | None = None,
) -> int:
    """Answer each line as a turn of ``session_id``; the number of turns that failed.

    ``actor``: whose session and long-term memory (``user:<login>`` from ``--user``).
    ``echo`` repeats each input line after the prompt (input piped from a file
    is not shown by the terminal, so a transcript would lose the questions).
    """
    out.write(f"session {session_id} (resume with: stock-agent chat --session {session_id})\n")
    failures = 0
    turn = 0
    out.write(prompt)
    out.flush()
    for raw in lines:
        text = raw.strip()
        if echo:
            out.write(text + "\n")
        if text.lower() in _EXIT:
            break
        if not text:
            out.write(prompt)
            out.flush()
            continue
        turn += 1
        try:
            request = validate_payload({"prompt": text, "session_id": session_id})
            agent.preflight(request.prompt, session_id=session_id, actor=actor)
            for event in agent.stream(
                request.prompt,
                request_id=f"{session_id}-{turn}",
                session_id=session_id,
                actor=actor,
            ):
                if event.get("event") == "result":
                    out.write(_result_text(event))
                else:
                    out.write(_stage_line(event))
                out.flush()
        except AgentError as err:
            failures += 1
            out.write(f"error {err.code}: {err.message}\n")
        out.write(prompt)
        out.flush()
    out.write("\n")
    return failures
