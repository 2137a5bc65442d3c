"""``train --dry-run`` prices the instance type it will run on, and takes weights from S3 only.

Every type in the one table is priced with its own GPU count and hourly
price (the expected figures are computed here from that table, never typed
in); a type the table does not list is refused, not priced as the default.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from stock_agent.cli import main
from stock_agent.customize.training_job import (
    DEFAULT_INSTANCE_TYPE,
    INSTANCE_TYPES,
    PLANS,
    TrainingJobError,
    cost_table,
    plan_job,
)

REPO = Path(__file__).resolve().parents[4]
DATA = "s3://bucket/training/datasets/d1/"


def _plan(**options: object):  # type: ignore[no-untyped-def]
    return plan_job(method="sft", data_uri=DATA, output_uri=None, role_arn=None,
                    region="us-east-1", repo_root=REPO, **options)  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.parametrize("instance_type", sorted(INSTANCE_TYPES))
def test_each_instance_type_is_priced_with_its_own_gpus_and_price(instance_type: str) -> None:
    spec = INSTANCE_TYPES[instance_type]
    job = _plan(instance_type=instance_type)
    assert job.request["ResourceConfig"]["InstanceType"] == instance_type
    assert (job.plan.gpus, job.plan.hourly_usd) == (spec.gpus, spec.hourly_usd)
    assert job.plan.gpu_memory_gib == spec.gpu_memory_gib
    cost = job.plan.cost()
    assert cost["expected_on_demand_usd"] == round(PLANS["sft"].expected_hours * spec.hourly_usd, 2)
    assert cost["ceiling_usd"] == round(PLANS["sft"].max_runtime_hours * spec.hourly_usd, 2)
    [row] = cost_table([("sft", job.plan)]).splitlines()[1:2]
    assert re.match(
        rf"sft\s+{re.escape(instance_type)}\s+{spec.gpus}\s+{spec.hourly_usd:.2f}\b", row
    )


def test_the_default_plans_come_from_the_same_table() -> None:
    default = INSTANCE_TYPES[DEFAULT_INSTANCE_TYPE]
    for plan in PLANS.values():
        assert (plan.instance_type, plan.gpus, plan.hourly_usd) == (
            DEFAULT_INSTANCE_TYPE,
            default.gpus,
            default.hourly_usd,
        )


@pytest.mark.parametrize("instance_type", ["ml.m5.xlarge", "ml.g6e.13xlarge", "p4d.24xlarge", ""])
def test_a_type_the_table_does_not_list_is_refused(instance_type: str) -> None:
    with pytest.raises(TrainingJobError, match=r"--instance-type .* is invalid: expected one of"):
        _plan(instance_type=instance_type)


@pytest.mark.parametrize(
    "uri", ["http://evil", "https://bucket.s3.amazonaws.com/weights/", "s3://", "/local/weights"]
)
def test_model_weights_from_anywhere_but_s3_are_refused(uri: str) -> None:
    with pytest.raises(TrainingJobError, match=r"--model-s3 .* is invalid: expected s3://"):
        _plan(model_uri=uri)


def test_model_weights_from_s3_are_a_channel() -> None:
    job = _plan(model_uri="s3://weights-bucket/gpt-oss-20b")
    [model] = [c for c in job.request["InputDataConfig"] if c["ChannelName"] == "model"]
    assert model["DataSource"]["S3DataSource"]["S3Uri"] == "s3://weights-bucket/gpt-oss-20b/"


def test_the_cli_dry_run_prints_the_chosen_types_own_price() -> None:
    spec = INSTANCE_TYPES["ml.p4d.24xlarge"]
    out = io.StringIO()
    code = main(["train", "--method", "dpo", "--data", DATA, "--dry-run",
                 "--instance-type", "ml.p4d.24xlarge"], out=out)  # fmt: skip
    assert code == 0, out.getvalue()
    assert re.search(
        rf"dpo\s+ml\.p4d\.24xlarge\s+{spec.gpus}\s+{spec.hourly_usd:.2f}", out.getvalue()
    )
    assert f"{INSTANCE_TYPES[DEFAULT_INSTANCE_TYPE].hourly_usd:.2f}" not in out.getvalue()
    bad = io.StringIO()
    assert main(["train", "--method", "sft", "--data", DATA, "--dry-run",
                 "--model-s3", "http://evil"], out=bad) == 2  # fmt: skip
