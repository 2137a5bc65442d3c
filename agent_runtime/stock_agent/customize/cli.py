"""``stock-agent dataset build`` and ``stock-agent train``: the CLI side of customisation.

Registered into the main parser by :func:`register`; each command's handler
rides on the parsed arguments (``args.handler``). Errors are one line on
stderr: exit 2 for bad options, 1 for failures at run time.

::

    stock-agent dataset build --from reports/ --out data/ [--eval-fraction 0.2]
        [--teacher-url http://host:8000/v1 --teacher-model NAME [--samples 4]]
    stock-agent train --method sft --data s3://bucket/training/datasets/d1/ --dry-run
        [--output s3://bucket/training/output/] [--role-arn ARN] [--region us-east-1]

The teacher's API key, when it needs one, comes from ``TEACHER_API_KEY``
(never a flag: flags end up in shell history).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from . import datasets, training_job

logger = logging.getLogger(__name__)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"stock-agent: {message}\n")
    return code


def cmd_dataset_build(args: argparse.Namespace, out: TextIO) -> int:
    teacher = None
    if args.teacher_url:
        if not args.teacher_url.startswith(("http://", "https://")):
            return _fail(f"--teacher-url {args.teacher_url!r}: expected an http(s) URL", 2)
        teacher = datasets.teacher_client(
            base_url=args.teacher_url,
            model=args.teacher_model,
            api_key=os.environ.get("TEACHER_API_KEY") or None,
        )
    try:
        report = datasets.build_datasets(
            args.source,
            Path(args.out),
            eval_fraction=args.eval_fraction,
            teacher=teacher,
            teacher_name=args.teacher_model if teacher else None,
            samples=args.samples,
        )
    except datasets.DatasetError as err:
        return _fail(str(err), 2)
    except OSError as err:
        return _fail(f"cannot write {args.out}: {err}", 1)
    out.write(
        f"read {report.records_read} run records, used {report.records_used}, "
        f"skipped {sum(report.skipped.values())}"
        + (f" ({', '.join(f'{k} {v}' for k, v in sorted(report.skipped.items()))})"
           if report.skipped else "")
        + "\n"
    )  # fmt: skip
    for method, rows in report.rows.items():
        out.write(f"{method:<5} train {rows['train']:>5}  eval {rows['eval']:>5}\n")
    out.write(f"dataset card: {Path(args.out) / 'README.md'}\n")
    return 0


def _repo_root() -> Path:
    """The checkout this package runs from (training/ sits beside agent_runtime/; this file is
    agent_runtime/stock_agent/customize/cli.py)."""
    return Path(__file__).resolve().parents[3]


def cmd_train(args: argparse.Namespace, out: TextIO) -> int:
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        if not args.dry_run:
            return _fail("--region (or AWS_REGION) is required to submit a job", 2)
        region = "us-east-1"
    if not args.dry_run and not args.role_arn:
        return _fail("--role-arn is required to submit a job (the IAM stack's output)", 2)
    try:
        job = training_job.plan_job(
            method=args.method,
            data_uri=args.data,
            output_uri=args.output,
            role_arn=args.role_arn,
            region=region,
            repo_root=_repo_root(),
            job_name=args.job_name,
            instance_type=args.instance_type,
            spot=False if args.no_spot else None,
            model_uri=args.model_s3,
        )
    except training_job.TrainingJobError as err:
        return _fail(str(err), 2)
    if args.dry_run:
        out.write(json.dumps(job.request, indent=2, sort_keys=True) + "\n")
        out.write(training_job.cost_table([(args.method, job.plan)]) + "\n")
        out.write(
            f"dry run: request valid against botocore's CreateTrainingJob model; would upload "
            f"{len(job.bundle)} bytes to {job.bundle_uri}\n"
        )
        return 0
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        status = training_job.submit(
            job,
            sagemaker=boto3.client("sagemaker", region_name=region),
            s3=boto3.client("s3", region_name=region),
            on_status=lambda line: print(line, file=out),
            follow=not args.no_follow,
        )
    except (BotoCoreError, ClientError) as err:
        return _fail(f"training job failed to start: {err}", 1)
    return 0 if status in ("Completed", "InProgress") else 1


def register(sub: Any) -> None:
    """Add ``dataset`` and ``train`` to the ``stock-agent`` subcommands."""
    dataset = sub.add_parser("dataset", help="build training datasets from run records")
    dataset_sub = dataset.add_subparsers(dest="dataset_command", required=True)
    build = dataset_sub.add_parser("build", help="SFT, DPO and GRPO datasets with a card")
    build.add_argument(
        "--from", dest="source", required=True, help="reports/ or s3://bucket/prefix"
    )
    build.add_argument("--out", required=True, help="output folder")
    build.add_argument(
        "--eval-fraction",
        type=float,
        default=datasets.DEFAULT_EVAL_FRACTION,
        help=f"share of tickers held out (default {datasets.DEFAULT_EVAL_FRACTION})",
    )
    build.add_argument("--teacher-url", help="OpenAI-compatible base URL of a teacher model")
    build.add_argument("--teacher-model", default="model", help="the teacher's served name")
    build.add_argument(
        "--samples",
        type=int,
        default=0,
        help=f"answers to sample per prompt from the teacher (0-{datasets.MAX_SAMPLES})",
    )
    build.add_argument("--log-level", choices=LOG_LEVELS)
    build.set_defaults(handler=cmd_dataset_build)

    train = sub.add_parser("train", help="build (and submit) a SageMaker training job")
    train.add_argument("--method", required=True, choices=training_job.METHODS)
    train.add_argument("--data", required=True, help="s3://bucket/prefix/ of a built dataset")
    train.add_argument("--output", help="s3://bucket/prefix/ (default: training/output/)")
    train.add_argument("--role-arn", help="the training job role (IAM stack output)")
    train.add_argument("--region", help="AWS region (default AWS_REGION)")
    train.add_argument("--job-name", help="default stock-narrator-<method>-<UTC time>")
    train.add_argument("--instance-type", help="override the method's instance type")
    train.add_argument("--no-spot", action="store_true", help="on-demand capacity only")
    train.add_argument("--model-s3", help="s3:// folder with gpt-oss-20b weights (else the hub)")
    train.add_argument("--dry-run", action="store_true", help="print the request and costs only")
    train.add_argument("--no-follow", action="store_true", help="do not wait for the job")
    train.add_argument("--log-level", choices=LOG_LEVELS)
    train.set_defaults(handler=cmd_train)
