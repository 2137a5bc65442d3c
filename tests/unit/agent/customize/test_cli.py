"""``stock-agent train``: a dry run prints a valid request and the costs; a submit needs a
role and a region."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr

import pytest
from stock_agent import cli
from stock_agent.customize.training_job import (
    PLACEHOLDER_ROLE,
    validate_request,
)

ROLE = "arn:aws:iam::123456789012:role/GptOssAgent-dev-Iam-TrainingJobRole"


def test_cli_dry_run_prints_a_valid_request_and_costs() -> None:
    out = io.StringIO()
    code = cli.main(
        ["train", "--method", "dpo", "--data", "s3://models-bucket/training/datasets/d1/",
         "--region", "us-east-1", "--dry-run"],
        out=out,
    )  # fmt: skip
    assert code == 0
    text = out.getvalue()
    request = json.loads(text[: text.index("\nmethod ")])
    validate_request(request)
    assert request["RoleArn"] == PLACEHOLDER_ROLE
    assert "dpo    ml.g6e.12xlarge" in text and "request valid" in text


def test_cli_submit_needs_a_role_and_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    err = io.StringIO()
    with redirect_stderr(err):
        no_region = cli.main(
            ["train", "--method", "sft", "--data", "s3://b-ucket/d/", "--role-arn", ROLE],
            out=io.StringIO(),
        )
        no_role = cli.main(
            ["train", "--method", "sft", "--data", "s3://b-ucket/d/", "--region", "us-east-1"],
            out=io.StringIO(),
        )
    assert no_region == 2 and no_role == 2
    assert "--region" in err.getvalue() and "--role-arn is required" in err.getvalue()
