"""``python -m eval --baseline A --candidate B``: compare two targets, decide promotion.

Runs the golden set against both (:mod:`eval.compare`), applies the rules of
``[promotion]`` in ``thresholds.toml`` (:mod:`eval.gate`), writes one report
(default ``eval/COMPARISON.md``) and prints it. Exit status: 0 only when the
candidate is promotable; 1 when it is worse or not better (stderr names each
criterion that stopped it and by how much); 2 for bad arguments or settings.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError

from .cases import GoldenSetError, load_golden_set
from .thresholds import ThresholdsError, load_thresholds

DEFAULT_COMPARISON_OUTPUT = Path(__file__).resolve().parent / "COMPARISON.md"
REPO = Path(__file__).resolve().parent.parent
logger = logging.getLogger(__name__)


def _refused_options(args: argparse.Namespace) -> list[str]:
    """Options of a single run that mean nothing in a comparison."""
    refused = []
    if getattr(args, "url", None):
        refused.append("--url (name the server as --baseline/--candidate http://...)")
    if getattr(args, "judge_url", None):
        refused.append("--judge-url (the judge criteria are not part of the promotion gate)")
    return refused


def run_promotion(
    args: argparse.Namespace, out: TextIO, err: TextIO, *, quiet: Callable[[], None]
) -> int:
    """The comparison command; ``quiet`` turns the agents' logs down once they are built."""
    from .compare import run_comparison
    from .compare_report import write
    from .gate import decide, load_rules
    from .sides import SideError, build_target, parse_side
    from .targets import Target

    if not (args.baseline and args.candidate):
        err.write("eval: --baseline and --candidate go together\n")
        return 2
    refused = _refused_options(args)
    if refused:
        err.write("eval: not with --baseline/--candidate: " + "; ".join(refused) + "\n")
        return 2
    try:
        golden = load_golden_set(args.golden)
        thresholds = load_thresholds(args.thresholds)
        rules = load_rules(args.thresholds)
        sides = [
            parse_side(
                text,
                role=role,
                runtime_arn=args.runtime_arn,
                qualifier=args.qualifier,
                model_url=args.model_url,
                model_name=args.model_name,
            )
            for role, text in (("baseline", args.baseline), ("candidate", args.candidate))
        ]
    except (OSError, GoldenSetError, ThresholdsError, SideError) as error:
        err.write(f"eval: {error}\n")
        return 2
    if args.model_url and not any(s.kind in ("model", "adapter") for s in sides):
        err.write("eval: --model-url applies to model:/adapter: sides only\n")
        return 2
    output = args.output or DEFAULT_COMPARISON_OUTPUT
    categories = set(args.category or [])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="eval-compare-") as scratch:
        targets: list[Target] = []
        try:
            for side in sides:
                targets.append(
                    build_target(side, reports_dir=Path(scratch) / side.role, region=args.region)
                )
        except (ValueError, BotoCoreError) as error:
            for target in targets:
                target.close()
            err.write(f"eval: {error}\n")
            return 2
        quiet()
        try:
            comparison = run_comparison(
                golden,
                baseline=(targets[0], sides[0].offline),
                candidate=(targets[1], sides[1].offline),
                thresholds=thresholds,
                capabilities=thresholds.capabilities | set(args.capability),
                confidence=rules.confidence,
                resamples=rules.bootstrap_resamples,
                seed=rules.bootstrap_seed,
                case_filter=(lambda c: c.category in categories) if categories else None,
            )
        finally:
            for target in targets:
                target.close()
    decision = decide(comparison, rules)
    text = write(
        comparison,
        decision,
        rules,
        output,
        repo=REPO,
        elapsed_s=time.perf_counter() - started,
    )
    out.write(text)
    out.write(f"\nwritten to {output}\n")
    if decision.promotable:
        err.write("eval: verdict PROMOTE: the candidate may replace the baseline\n")
        return 0
    err.write(f"eval: verdict {decision.verdict.upper()}: the candidate is not promotable\n")
    for row in decision.failures:
        err.write(f"eval: {row.criterion} {row.status}: {row.message}\n")
    return 1
