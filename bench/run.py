"""Entry point of the benchmarks: ``python -m bench.run`` (``make bench``).

Measures the rows (see ``bench/README.md``), prints the markdown
table and writes ``bench/RESULTS.md`` with the machine, the date and the
versions. Not part of the test suite: it takes minutes, reaches the package
registry for row 5 and runs the whole suite for row 6b.

Each row is measured independently: one that cannot run (its code has not
landed, the registry is unreachable) is reported as "not measured" with the
reason, and the others still run. The exit status is 0 when every measured
row meets its target, 1 otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .report import Results, Row, render_table, write_results

logger = logging.getLogger("bench")

REPO = Path(__file__).resolve().parent.parent
ALL_ROWS = (
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "react", "eval", "gate",
)  # fmt: skip


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _concurrency_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers"
        ) from None
    if not values or any(v < 1 or v > 256 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: each level must be in 1..256")
    return values


def _rows_list(text: str) -> tuple[str, ...]:
    rows = tuple(r.strip() for r in text.split(",") if r.strip())
    unknown = [r for r in rows if r not in ALL_ROWS]
    if unknown or not rows:
        raise argparse.ArgumentTypeError(
            f"unknown row(s) {unknown or [text]}; choose from {','.join(ALL_ROWS)}"
        )
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Measure the agent and the app against their targets.",
    )
    parser.add_argument(
        "--rows", type=_rows_list, default=ALL_ROWS, help="rows to run, e.g. 1,2,3 (default all)"
    )
    parser.add_argument(
        "--runs", type=_positive_int, default=30, help="analyses timed for row 1 (default 30)"
    )
    parser.add_argument(
        "--stub-latency",
        type=_positive_float,
        default=2.0,
        help="seconds the model stub takes per call, rows 7 and react (default 2.0)",
    )
    parser.add_argument(
        "--concurrency",
        type=_concurrency_list,
        default=(1, 8, 32),
        help="concurrent sessions for row 7 (default 1,8,32)",
    )
    parser.add_argument(
        "--with-suite",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the whole pytest suite for row 6 (default on; --no-with-suite skips it)",
    )
    parser.add_argument(
        "--setup-ref",
        default="HEAD",
        help="commit whose fresh clone row 8 sets up and tests (default HEAD)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="replace only the measured rows in an existing --output, keep the others",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "bench" / "RESULTS.md",
        help="where to write the results (default bench/RESULTS.md)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at DEBUG")
    return parser


def _guarded(number: str, what: str, target: str, measure: Callable[[], list[Row]]) -> list[Row]:
    """Run one measurement; an unexpected failure becomes a "not measured" row.

    A benchmark must not lose eleven figures because the twelfth broke, and a
    crash inside someone else's code is itself worth reporting.
    """
    started = time.perf_counter()
    try:
        rows = measure()
    except Exception as exc:  # the reason goes into the table
        logger.exception("row %s failed", number)
        reason = f"{type(exc).__name__}: {exc}"[:300]
        return [Row.skipped(number=number, what=what, target=target, reason=reason)]
    logger.info("row %s done in %.1f s", number, time.perf_counter() - started)
    return rows


def run(args: argparse.Namespace) -> Results:
    """Measure the selected rows in table order."""
    from . import rows_agent, rows_eval, rows_infra

    results = Results()
    selected = set(args.rows)
    agent = rows_agent.AgentBench(repo=REPO, runs=args.runs, stub_latency_s=args.stub_latency)
    if "1" in selected:
        results.rows += _guarded("1", "agent overhead per analysis", "p50 ≤ 150 ms", agent.row1)
        results.rows += _guarded(
            "1b", "track record per ticker", "cold p50 ≤ 60 ms, cached p50 ≤ 5 ms", agent.row1b
        )
    if "2" in selected:
        results.rows += _guarded("2", "PDF generation alone", "≤ 60 ms, ≤ 200 KB", agent.row2)
    if "3" in selected:
        results.rows += _guarded(
            "3", "model calls and prompt size per ticker", "≤ 2 calls, ≤ 1,500 tokens", agent.row3
        )
    if "4" in selected:
        results.rows += _guarded("4", "cold start", "first ping ≤ 2 s", agent.row4)
    if "5" in selected:

        def footprint() -> list[Row]:
            row, details = rows_infra.measure_image_footprint(repo=REPO)
            results.details.extend(details)
            return [row]

        results.rows += _guarded("5", "runtime image footprint", "≤ 250 MB", footprint)
    if "6" in selected:
        results.rows += _guarded(
            "6a", "cdk synth", "≤ 30 s", lambda: [rows_infra.measure_synth(repo=REPO)]
        )
        if args.with_suite:
            results.rows += _guarded(
                "6b", "test suite", "≤ 5 min", lambda: [rows_infra.measure_suite(repo=REPO)]
            )
    if "7" in selected:
        results.rows += _guarded(
            "7",
            "local server under concurrent sessions",
            "throughput grows with N; p50 ≈ stub + row 1",
            lambda: agent.row7(levels=args.concurrency),
        )
    if "8" in selected:
        from . import rows_setup

        results.rows += _guarded(
            "8",
            "fresh clone: make demo, make test",
            "≤ 60 s, ≤ 90 s, pytest ≤ 50 s",
            lambda: rows_setup.measure_setup(repo=REPO, ref=args.setup_ref),
        )
    if "9" in selected:
        from . import rows_load

        def burst() -> list[Row]:
            rows_agent._repo_on_path(REPO)
            return rows_load.row9(
                repo=REPO, stub_latency_s=args.stub_latency, env_for=rows_agent._model_env
            )

        results.rows += _guarded(
            "9", "local server under a burst of 64 requests", "/ping p95 ≤ 100 ms", burst
        )
    if "10" in selected:
        from . import rows_conversation

        results.rows += _guarded(
            "10",
            "conversation",
            "follow-up p50 ≤ 50 ms; checkpointer ≤ 10 ms; ≤ 256 KB; ≤ 1 call",
            lambda: rows_conversation.row10(runs=args.runs),
        )
    if "11" in selected:
        from . import rows_mcp

        results.rows += _guarded(
            "11",
            "MCP tool call vs the function",
            rows_mcp.TARGET,
            lambda: rows_mcp.row11(repo=REPO, runs=args.runs),
        )
    if "12" in selected:
        from . import rows_memory

        results.rows += _guarded(
            "12",
            "the user's long-term memory",
            "read p50 ≤ 5 ms; watchlist review p50 ≤ 300 ms",
            lambda: rows_memory.row12(runs=args.runs),
        )
    if "react" in selected:

        def react() -> list[Row]:
            rows, lines = agent.react_comparison()
            results.comparison.extend(lines)
            return rows

        results.rows += _guarded("R", "vs ReAct baseline", "fewer calls, lower latency", react)
    if "eval" in selected:
        results.rows += _guarded(
            "E",
            rows_eval.WHAT,
            rows_eval.TARGET,
            lambda: [rows_eval.measure_eval(repo=REPO)],
        )
    if "gate" in selected:
        results.rows += _guarded(
            "G",
            rows_eval.GATE_WHAT,
            rows_eval.GATE_TARGET,
            lambda: [rows_eval.measure_promotion_gate(repo=REPO)],
        )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The agent logs a line per stage; at benchmark volume that is noise.
    logging.getLogger("stock_agent").setLevel(logging.WARNING)
    results = run(args)
    print(render_table(results.rows))
    if results.comparison:
        print()
        print("\n".join(results.comparison))
    command = "python -m bench.run " + shlex.join(argv if argv is not None else sys.argv[1:])
    write_results(
        results,
        path=args.output,
        changes_path=REPO / "bench" / "changes.md",
        command=command.strip(),
        merge=args.merge,
    )
    print(f"\nwrote {args.output}")
    return 0 if all(r.ok is not False for r in results.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
