"""DAPO and GSPO go through the same launcher as SFT, DPO and GRPO.

No AWS here: each request is checked with botocore's ``validate_parameters``
on the real CreateTrainingJob input shape (as the launcher does itself), and
the source bundle the job would run is unpacked and its config loader run
in a fresh interpreter, as the job's entry point would.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from stock_agent import cli
from stock_agent.customize.training_job import METHODS, PLANS, build_bundle, validate_request

from training import config as training_config

REPO = Path(__file__).resolve().parents[3]
DATA = "s3://models-bucket/training/datasets/d1/"


def test_the_launcher_offers_every_configured_method() -> None:
    assert METHODS == training_config.METHODS
    assert set(PLANS) == set(METHODS)


@pytest.mark.parametrize("method", ["dapo", "gspo"])
def test_cli_dry_run_builds_a_valid_request_for_the_new_methods(method: str) -> None:
    out = io.StringIO()
    code = cli.main(
        ["train", "--method", method, "--data", DATA, "--region", "eu-west-1", "--dry-run"],
        out=out,
    )
    text = out.getvalue()
    assert code == 0, text
    request = json.loads(text[: text.index("\nmethod ")])
    validate_request(request)  # botocore's CreateTrainingJob shape
    hyper = request["HyperParameters"]
    assert (hyper["method"], hyper["config"]) == (method, f"training/configs/{method}.json")
    assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == DATA
    assert {"Key": "training-method", "Value": method} in request["Tags"]
    assert request["EnableManagedSpotTraining"] is True
    assert f"{method:<6} ml.g6e.12xlarge" in text and "request valid" in text


def test_an_unknown_method_is_refused_by_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stock_agent.cli", "train", "--method", "ppo", "--data", DATA,
         "--dry-run"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "invalid choice: 'ppo'" in done.stderr and "'dapo', 'gspo'" in done.stderr


def test_the_jobs_bundle_validates_every_method_on_its_own(tmp_path: Path) -> None:
    """The bundle carries the serving rules training/config.py checks LoRA targets with."""
    with tarfile.open(fileobj=io.BytesIO(build_bundle(REPO))) as tar:
        tar.extractall(tmp_path, filter="data")
    assert (tmp_path / "model_container" / "lora_support.py").is_file()
    for method in ("dapo", "gspo"):
        assert (tmp_path / "training" / "configs" / f"{method}.json").is_file()
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from training import config; "
        "print(sorted(config.load(m)['method'] for m in config.METHODS)); "
        "print(config.LORA_SUPPORT)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    methods, rules = done.stdout.splitlines()
    assert methods == str(sorted(METHODS))
    assert rules == str(tmp_path / "model_container" / "lora_support.py")  # the bundle's copy
