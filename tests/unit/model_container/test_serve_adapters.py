"""LoRA adapters beside gpt-oss: environment → ``--enable-lora --lora-modules ...``, S3 fetch.

The mapping is exercised like the rest of the entrypoint (plans and a real
``--dry-run`` subprocess). Fetching runs against moto's S3 server on
loopback through a real boto3 client; vLLM itself needs a GPU and is not run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.moto_s3 import moto_s3_server, s3_client
from tests.unit.model_container.test_serve import SERVE, serve


def _lora_args(argv: list[str]) -> list[str]:
    """What follows the gpt-oss defaults (the last of which is prefix caching)."""
    return argv[argv.index("--enable-prefix-caching") + 1 :]


def test_adapters_map_to_vllm_lora_flags() -> None:
    plan = serve.build_plan(
        {"OPTION_LORA_MODULES": "narrator-v1=s3://models-bucket/adapters/narrator-v1/,"
                                "local=/opt/ml/model/adapters/local"}
    )  # fmt: skip
    assert _lora_args(plan.argv) == [
        "--compilation-config", '{"cudagraph_mode":"PIECEWISE"}', "--enable-lora",
        "--max-lora-rank", "16", "--max-loras", "2", "--moe-backend", "marlin", "--lora-modules",
        "narrator-v1=/tmp/lora-adapters/narrator-v1", "local=/opt/ml/model/adapters/local",
    ]  # fmt: skip
    assert plan.adapters[0] == (
        "narrator-v1", "s3://models-bucket/adapters/narrator-v1/", "/tmp/lora-adapters/narrator-v1"
    )  # fmt: skip
    assert plan.argv[plan.argv.index("--served-model-name") + 1] == "model"


def test_rank_and_count_come_from_their_own_variables() -> None:
    plan = serve.build_plan(
        {"SM_VLLM_LORA_MODULES": "a=s3://models-bucket/adapters/a",
         "OPTION_MAX_LORA_RANK": "64", "SM_VLLM_MAX_LORAS": "4"}
    )  # fmt: skip
    args = _lora_args(plan.argv)
    assert args[args.index("--max-lora-rank") :][:4] == ["--max-lora-rank", "64",
                                                          "--max-loras", "4"]  # fmt: skip


def test_no_adapters_no_lora_flags() -> None:
    assert "--enable-lora" not in serve.build_plan({}).argv
    with pytest.raises(serve.ConfigError, match="names no adapter"):
        serve.build_plan({"OPTION_ENABLE_LORA": "true"})


@pytest.mark.parametrize(("rank", "ok"), [("8", True), ("16", True), ("512", True),
                                          ("17", False), ("513", False), ("0", False)])  # fmt: skip
def test_max_lora_rank_accepts_only_vllm_ranks(rank: str, ok: bool) -> None:
    env = {"OPTION_LORA_MODULES": "a=/adapters/a", "OPTION_MAX_LORA_RANK": rank}
    if ok:
        assert rank in serve.build_plan(env).argv
    else:
        with pytest.raises(serve.ConfigError, match="OPTION_MAX_LORA_RANK"):
            serve.build_plan(env)


@pytest.mark.parametrize(("count", "ok"), [("16", True), ("17", False), ("0", False)])
def test_max_loras_bounds(count: str, ok: bool) -> None:
    env = {"OPTION_LORA_MODULES": "a=/adapters/a", "OPTION_MAX_LORAS": count}
    if ok:
        serve.build_plan(env)
    else:
        with pytest.raises(serve.ConfigError, match="OPTION_MAX_LORAS"):
            serve.build_plan(env)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("narrator", "expected NAME=URI"),
        ("-bad=/a", "expected NAME=URI"),
        ("a=/x,a=/y", "used twice"),
        ("model=/x", "used twice or is the base's"),
        ("a=relative/path", "expected s3://bucket/prefix/ or an absolute path"),
        ("a=/x/../etc", "expected s3://bucket/prefix/ or an absolute path"),
        ("a=s3://Bad_Bucket/p/", "not an s3://bucket/prefix/ folder"),
        (",".join(f"a{i}=/x{i}" for i in range(17)), "at most 16"),
    ],
)
def test_bad_adapter_lists_stop_the_start_naming_the_variable(value: str, message: str) -> None:
    with pytest.raises(serve.ConfigError, match="OPTION_LORA_MODULES") as caught:
        serve.build_plan({"OPTION_LORA_MODULES": value})
    assert message in str(caught.value)


def test_dry_run_shows_the_lora_command_in_a_real_process() -> None:
    env = {**os.environ, "OPTION_LORA_MODULES": "narrator-v1=s3://models-bucket/adapters/n1/"}
    result = subprocess.run(
        [sys.executable, str(SERVE), "serve", "--dry-run"],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(
        '--compilation-config \'{"cudagraph_mode":"PIECEWISE"}\' --enable-lora '
        "--max-lora-rank 16 --max-loras 1 --moe-backend marlin "
        "--lora-modules narrator-v1=/tmp/lora-adapters/narrator-v1"
    )


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    with moto_s3_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket="models-bucket")
        yield client


def _put_adapter(s3: Any, prefix: str, rank: int) -> None:
    s3.put_object(Bucket="models-bucket", Key=f"{prefix}adapter_config.json",
                  Body=json.dumps({"r": rank, "peft_type": "LORA"}).encode())  # fmt: skip
    s3.put_object(Bucket="models-bucket", Key=f"{prefix}adapter_model.safetensors", Body=b"\0" * 64)


def _plan_into(tmp_path: Path, env: dict[str, str]) -> Any:
    plan = serve.build_plan(env)
    relocated = tuple((n, src, str(tmp_path / n) if src.startswith("s3://") else local)
                      for n, src, local in plan.adapters)  # fmt: skip
    return serve.Plan(argv=plan.argv, env=plan.env, adapters=relocated)


@pytest.mark.slow
def test_s3_adapters_are_fetched_and_their_rank_checked(s3: Any, tmp_path: Path) -> None:
    _put_adapter(s3, "adapters/ok/", rank=8)
    s3.put_object(Bucket="models-bucket", Key="adapters/okay-not-this/x", Body=b"other")
    plan = _plan_into(tmp_path, {"OPTION_LORA_MODULES": "ok=s3://models-bucket/adapters/ok/"})
    serve.download_adapters(plan, s3_client=s3)
    assert sorted(p.name for p in (tmp_path / "ok").iterdir()) == [
        "adapter_config.json", "adapter_model.safetensors"
    ]  # fmt: skip


@pytest.mark.slow
def test_rank_above_max_lora_rank_names_the_adapter(s3: Any, tmp_path: Path) -> None:
    _put_adapter(s3, "adapters/wide/", rank=32)
    env = {"OPTION_LORA_MODULES": "wide=s3://models-bucket/adapters/wide/"}
    with pytest.raises(serve.ConfigError, match="adapter 'wide' has rank 32: set OPTION_MAX"):
        serve.download_adapters(_plan_into(tmp_path, env), s3_client=s3)
    env["OPTION_MAX_LORA_RANK"] = "32"
    serve.download_adapters(_plan_into(tmp_path / "again", env), s3_client=s3)


@pytest.mark.slow
def test_empty_or_escaping_prefixes_are_refused(s3: Any, tmp_path: Path) -> None:
    env = {"OPTION_LORA_MODULES": "none=s3://models-bucket/adapters/none/"}
    with pytest.raises(serve.ConfigError, match="holds no objects"):
        serve.download_adapters(_plan_into(tmp_path, env), s3_client=s3)
    s3.put_object(Bucket="models-bucket", Key="adapters/evil/../../../escape", Body=b"x")
    env = {"OPTION_LORA_MODULES": "evil=s3://models-bucket/adapters/evil/"}
    with pytest.raises(serve.ConfigError, match="escapes its folder"):
        serve.download_adapters(_plan_into(tmp_path, env), s3_client=s3)
