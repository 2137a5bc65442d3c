"""``python -m eval`` (also ``make eval`` and ``stock-agent eval``): run the golden set.

Targets (one of them):

- default: the agent in-process, simulated data, offline model or
  ``--model-url`` (any OpenAI-compatible server);
- ``--url URL``: a running server (``stock-agent serve``, the container);
- ``--runtime-arn ARN``: a deployed AgentCore runtime (AWS credentials needed).

``--baseline A --candidate B`` compares two targets instead (two URLs, two
runtime ARNs or qualifiers, two model adapters of the in-process agent; see
:mod:`eval.sides`) and decides whether the candidate may be promoted
(:mod:`eval.promote`); its exit status is 0 only for a promotable candidate.

The judge criteria run with ``--judge-url`` (any OpenAI-compatible server),
after calibrating the judge on the labelled set; without it they are skipped
with a notice. Exit status: 0 when every measured criterion meets its
threshold, 1 when one does not, 2 for bad arguments or settings.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError
from stock_agent.client.invoke_http import DEFAULT_MAX_RESPONSE_BYTES

from .cases import CAPABILITIES, CATEGORIES, GOLDEN_SET, GoldenSetError, load_golden_set
from .targets import DEFAULT_TIMEOUT_S
from .thresholds import THRESHOLDS_FILE, ThresholdsError, load_thresholds

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m eval`` (``stock-agent eval`` passes its own through)."""
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--url", help="a running agent server, e.g. http://127.0.0.1:8080")
    target.add_argument("--runtime-arn", help="a deployed AgentCore runtime ARN")
    parser.add_argument("--qualifier", default="DEFAULT", help="runtime endpoint (default DEFAULT)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"--url: seconds for each whole answer (default {DEFAULT_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_RESPONSE_BYTES,
        help=f"--url: the largest answer read (default {DEFAULT_MAX_RESPONSE_BYTES})",
    )
    parser.add_argument("--region", help="AWS region of the runtime")
    parser.add_argument("--model-url", help="in-process only: OpenAI-compatible base URL")
    parser.add_argument("--model-name", default="model", help="served model name (default model)")
    parser.add_argument("--judge-url", help="OpenAI-compatible base URL of the judge")
    parser.add_argument("--judge-model", default="model", help="judge's model name")
    parser.add_argument(
        "--judge-api-key-env", default="JUDGE_API_KEY", help="variable holding the judge's key"
    )
    parser.add_argument(
        "--capability",
        action="append",
        choices=CAPABILITIES,
        default=[],
        help="enable a capability beyond thresholds.toml's list (repeatable)",
    )
    parser.add_argument("--category", choices=CATEGORIES, action="append", help="only these")
    parser.add_argument("--golden", type=Path, default=GOLDEN_SET, help="golden set JSONL")
    parser.add_argument("--thresholds", type=Path, default=THRESHOLDS_FILE)
    parser.add_argument(
        "--output",
        type=Path,
        help="results markdown (default eval/RESULTS.md; eval/COMPARISON.md when comparing)",
    )
    parser.add_argument(
        "--baseline", help="compare: the target in service (URL, ARN, qualifier:, model:, ...)"
    )
    parser.add_argument("--candidate", help="compare: the target that would replace it")


AGENT_LOGGERS = ("bedrock_agentcore", "bedrock_agentcore.app", "stock_agent")


def quiet_agent_logs() -> None:
    """The agent logs every refusal the golden set provokes on purpose; the table says enough."""
    for name in AGENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.baseline or args.candidate:
        from .promote import run_promotion

        return run_promotion(args, out, sys.stderr, quiet=quiet_agent_logs)
    from .graders.judge import build_judge, calibrate, load_calibration_set
    from .report import write
    from .runner import run_golden_set
    from .sensitivity import clean_turn, run_sensitivity
    from .targets import InProcessTarget, RuntimeArnTarget, Target, UrlTarget

    try:
        golden = load_golden_set(args.golden)
        thresholds = load_thresholds(args.thresholds)
    except (OSError, GoldenSetError, ThresholdsError) as err:
        out.write(f"eval: {err}\n")
        return 2
    if args.model_url and (args.url or args.runtime_arn):
        out.write("eval: --model-url applies to the in-process agent only\n")
        return 2
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="eval-reports-") as reports_dir:
        target: Target
        try:
            if args.url:
                if not (0 < args.timeout <= 3600 and args.max_bytes > 0):
                    raise ValueError("--timeout must be in (0, 3600] and --max-bytes positive")
                target = UrlTarget(args.url, timeout_s=args.timeout, max_bytes=args.max_bytes)
            elif args.runtime_arn:
                import boto3
                from stock_agent.client.remote import runtime_client

                target = RuntimeArnTarget(
                    arn=args.runtime_arn,
                    qualifier=args.qualifier,
                    client=runtime_client(region=args.region),
                    s3_client=boto3.client("s3", region_name=args.region),
                )
            else:
                target = InProcessTarget(
                    reports_dir=Path(reports_dir),
                    model_url=args.model_url,
                    model_name=args.model_name,
                )
        except (ValueError, BotoCoreError) as err:  # bad URL, no AWS region or credentials setup
            out.write(f"eval: {err}\n")
            return 2
        quiet_agent_logs()
        judge = agreement = None
        if args.judge_url:
            judge = build_judge(
                url=args.judge_url,
                model=args.judge_model,
                api_key=os.environ.get(args.judge_api_key_env) or None,
            )
            agreement = calibrate(judge, load_calibration_set())
        categories = set(args.category or [])
        try:
            result = run_golden_set(
                golden,
                target,
                thresholds,
                offline=not (args.model_url or args.url or args.runtime_arn),
                capabilities=thresholds.capabilities | set(args.capability),
                judge=judge,
                agreement=agreement,
                case_filter=(lambda c: c.category in categories) if categories else None,
            )
            result.sensitivity = run_sensitivity(clean_turn(target))
        finally:
            target.close()
    output = args.output or DEFAULT_OUTPUT
    text = write(result, output, repo=REPO, elapsed_s=time.perf_counter() - started)
    out.write(text)
    out.write(f"\nwritten to {output}\n")
    return 0 if result.gate_passed else 1


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return run(args, out or sys.stdout)
