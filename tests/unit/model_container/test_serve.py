"""The model container's entrypoint: environment → the exact ``vllm serve`` command.

``model_container`` is not a package (it is the Docker build context), so the
module is loaded from its path. The real ``exec`` is replaced by a recorder;
``--dry-run`` is exercised in a real subprocess, as ``docker run`` would.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.module_loader import load_by_path

REPO = Path(__file__).resolve().parents[3]
SERVE = REPO / "model_container" / "serve.py"
serve = load_by_path("model_container_serve", SERVE)

BASE = [
    "vllm",
    "serve",
    "openai/gpt-oss-20b",
    "--host",
    "0.0.0.0",
    "--port",
    "8080",
    "--served-model-name",
    "model",
    "--tool-call-parser",
    "openai",
    "--enable-auto-tool-choice",
    "--reasoning-parser",
    "openai_gptoss",
    "--max-model-len",
    "32768",
    "--gpu-memory-utilization",
    "0.90",
    "--tensor-parallel-size",
    "1",
    "--enable-prefix-caching",
]


def argv_for(env: dict[str, str]) -> list[str]:
    return list(serve.build_plan(env).argv)


def value_after(argv: list[str], flag: str) -> str:
    assert argv.count(flag) == 1, f"{flag} appears {argv.count(flag)} times in {argv}"
    return argv[argv.index(flag) + 1]


class Exec:
    """Stands in for ``os.execvpe``: records what would replace the process."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], dict[str, str]]] = []

    def __call__(self, file: str, argv: list[str], env: dict[str, str]) -> None:
        self.calls.append((file, argv, env))


def test_defaults_are_the_gpt_oss_command() -> None:
    assert argv_for({}) == BASE


def test_article_option_names_overlay_the_defaults() -> None:
    argv = argv_for(
        {
            "OPTION_MODEL": "openai/gpt-oss-20b",
            "OPTION_SERVED_MODEL_NAME": "model",
            "OPTION_TENSOR_PARALLEL_SIZE": "1",
            "OPTION_MAX_MODEL_LEN": "16384",
            "OPTION_GPU_MEMORY_UTILIZATION": "0.85",
            "OPTION_ASYNC_SCHEDULING": "true",
        }
    )
    assert value_after(argv, "--max-model-len") == "16384"
    assert value_after(argv, "--gpu-memory-utilization") == "0.85"
    assert argv[-1] == "--async-scheduling"  # bare flag, no stray "true"
    assert "true" not in argv


def test_sm_vllm_names_map_to_flags_including_unknown_ones() -> None:
    argv = argv_for(
        {
            "SM_VLLM_MAX_NUM_SEQS": "64",
            "SM_VLLM_MAX_MODEL_LEN": "8192",
            "SM_VLLM_LIMIT_MM_PER_PROMPT": '{"image": 0}',
            "SM_VLLM_DISABLE_LOG_STATS": "true",
            "SM_VLLM_SOME_FUTURE_TOGGLE": "false",
        }
    )
    assert value_after(argv, "--max-num-seqs") == "64"
    assert value_after(argv, "--max-model-len") == "8192"
    assert value_after(argv, "--limit-mm-per-prompt") == '{"image": 0}'
    assert "--disable-log-stats" in argv
    assert not any("some-future-toggle" in a for a in argv)  # unknown false: omitted


def test_false_booleans_negate_where_vllm_supports_it() -> None:
    argv = argv_for(
        {
            "OPTION_ENABLE_PREFIX_CACHING": "false",
            "OPTION_ASYNC_SCHEDULING": "False",
            "OPTION_ENABLE_AUTO_TOOL_CHOICE": "0",
        }
    )
    assert "--no-enable-prefix-caching" in argv
    assert "--enable-prefix-caching" not in argv
    assert "--no-async-scheduling" in argv
    assert "--enable-auto-tool-choice" not in argv  # no --no- form: left out
    assert not {"false", "False", "0"} & set(argv)


def test_lmi_spellings_are_mapped_or_ignored() -> None:
    argv = argv_for({"OPTION_TENSOR_PARALLEL_DEGREE": "1", "OPTION_ROLLING_BATCH": "vllm"})
    assert value_after(argv, "--tensor-parallel-size") == "1"
    assert "--rolling-batch" not in argv


def test_same_argument_twice_must_agree() -> None:
    assert "--max-num-seqs" in argv_for({"OPTION_MAX_NUM_SEQS": "32", "SM_VLLM_MAX_NUM_SEQS": "32"})
    with pytest.raises(serve.ConfigError, match="conflicts"):
        argv_for({"OPTION_MAX_NUM_SEQS": "32", "SM_VLLM_MAX_NUM_SEQS": "64"})


def test_model_path_runs_offline_and_hub_id_does_not() -> None:
    plan = serve.build_plan({"OPTION_MODEL": "/opt/ml/model"})
    assert plan.argv[2] == "/opt/ml/model"
    assert plan.env == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    assert serve.build_plan({"OPTION_MODEL": "openai/gpt-oss-20b"}).env == {}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OPTION_MAX_MODEL_LEN", "abc"),
        ("OPTION_MAX_MODEL_LEN", "12.5"),
        ("OPTION_MAX_MODEL_LEN", "999999"),
        ("OPTION_GPU_MEMORY_UTILIZATION", "1.5"),
        ("OPTION_GPU_MEMORY_UTILIZATION", "0"),
        ("OPTION_GPU_MEMORY_UTILIZATION", "nan"),
        ("OPTION_ENABLE_PREFIX_CACHING", "maybe"),
        ("SM_VLLM_ASYNC_SCHEDULING", "yes please"),
        ("OPTION_TENSOR_PARALLEL_SIZE", "0"),
        ("OPTION_SERVED_MODEL_NAME", "two words"),
        ("SM_VLLM_PORT", "9000"),
        ("OPTION_HOST", "127.0.0.1"),
        ("SM_VLLM_BAD-NAME", "1"),
    ],
)
def test_invalid_values_stop_the_container_naming_the_variable(
    variable: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake_exec = Exec()
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as info:
        serve.main(["serve"], environ={variable: value}, execvpe=fake_exec)
    assert info.value.code == 2
    assert fake_exec.calls == []  # vLLM never started
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and variable in errors[0]


def test_serve_argument_execs_vllm_with_tiktoken_base_kept(tmp_path: Path) -> None:
    weights = tmp_path / "model"
    weights.mkdir()
    (weights / "config.json").write_text("{}")
    fake_exec = Exec()
    env = {
        "OPTION_MODEL": str(weights),
        "TIKTOKEN_ENCODINGS_BASE": "/opt/tiktoken",
        "PATH": "/usr/bin",
    }
    assert serve.main(["serve"], environ=env, execvpe=fake_exec) == 0
    [(file, argv, child_env)] = fake_exec.calls
    assert file == "vllm" and argv[:3] == ["vllm", "serve", str(weights)]
    assert value_after(argv, "--port") == "8080"
    assert value_after(argv, "--host") == "0.0.0.0"
    assert child_env["TIKTOKEN_ENCODINGS_BASE"] == "/opt/tiktoken"
    assert child_env["HF_HUB_OFFLINE"] == "1"
    assert child_env["PATH"] == "/usr/bin"


def test_model_path_without_weights_fails_before_vllm(caplog: pytest.LogCaptureFixture) -> None:
    fake_exec = Exec()
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit):
        serve.main([], environ={"OPTION_MODEL": "/nonexistent/opt/ml/model"}, execvpe=fake_exec)
    assert fake_exec.calls == []
    assert "config.json" in caplog.text and "OPTION_MODEL" in caplog.text


def test_unknown_cli_argument_is_refused() -> None:
    with pytest.raises(SystemExit) as info:
        serve.main(["train"], environ={}, execvpe=Exec())
    assert info.value.code == 2


def _dry_run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SERVE), *args, "--dry-run"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_dry_run_prints_the_command_in_a_real_process() -> None:
    done = _dry_run({"OPTION_MODEL": "/opt/ml/model", "OPTION_ASYNC_SCHEDULING": "true"}, "serve")
    assert done.returncode == 0, done.stderr
    words = shlex.split(done.stdout)
    env_words = [w for w in words if "=" in w and not w.startswith("-")]
    assert env_words == ["HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1"]
    argv = words[len(env_words) :]
    assert argv == [*BASE[:2], "/opt/ml/model", *BASE[3:], "--async-scheduling"]


def test_dry_run_with_a_bad_value_exits_nonzero_in_a_real_process() -> None:
    done = _dry_run({"OPTION_GPU_MEMORY_UTILIZATION": "1.5"})
    assert done.returncode == 2
    assert done.stdout == ""
    assert "OPTION_GPU_MEMORY_UTILIZATION" in done.stderr


def test_every_default_is_valid_for_its_own_spec() -> None:
    settings: dict[str, Any] = serve.read_settings({})
    for name, value in settings.items():
        assert serve._check(name, name.upper(), value) == value
