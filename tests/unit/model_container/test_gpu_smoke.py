"""The container's first-GPU-run check, against the fake vLLM server on loopback.

vLLM on a GPU cannot run here: the fake speaks vLLM's wire format (chat
completions, ``/v1/models`` with LoRA modules listed under their base,
``/ping``) over a real socket, and each test scripts the failure the check
must name. The check itself is the script an operator runs, unchanged.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_vllm import FakeVLLM, chat_completion, error_body
from tests.support.module_loader import load_by_path

SCRIPT = Path(__file__).resolve().parents[3] / "model_container" / "gpu_smoke.py"


smoke = load_by_path("model_container_gpu_smoke", SCRIPT)


def _run(url: str, adapters: tuple[str, ...] = ("probe",), **kwargs: Any) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = smoke.run(url, adapters, wait_s=5.0, report=lines.append, sleep=lambda _: None, **kwargs)
    return code, lines


def test_a_healthy_server_passes_every_check() -> None:
    with FakeVLLM.start(adapters=("probe",)) as fake:
        code, lines = _run(fake.base_url, same_as_base=("probe",))
        models = [r["model"] for r in fake.chat_requests]
    assert code == 0, lines
    assert [line.split(":")[0] for line in lines] == [
        "PASS ping", "PASS models", "PASS model", "PASS probe", "PASS probe", "PASS mixed batch",
    ]  # fmt: skip
    # one each, then MIXED_PAIRS of both at once
    assert models[:2] == ["model", "probe"]
    assert sorted(models[2:]) == ["model"] * smoke.MIXED_PAIRS + ["probe"] * smoke.MIXED_PAIRS


def test_an_adapter_the_server_does_not_list_fails_the_models_check() -> None:
    with FakeVLLM.start() as fake:
        code, lines = _run(fake.base_url)
    assert code == 1
    assert lines[-1].startswith("FAIL models: /v1/models lists ['model'], not ['probe']")


def test_an_http_error_through_the_adapter_is_reported_with_vllms_message() -> None:
    with FakeVLLM.start(adapters=("probe",)) as fake:
        fake.enqueue(body=chat_completion("A ratio of price to earnings."))
        fake.enqueue(
            status=400, body=error_body("LoRA rank 16 is greater than max_lora_rank 8.", status=400)
        )
        code, lines = _run(fake.base_url)
    assert code == 1
    assert lines[-1].startswith("FAIL one request each: probe: HTTP 400")
    assert "greater than max_lora_rank" in lines[-1]


def test_degenerate_output_is_a_failure_at_the_run_length_edge() -> None:
    run = "!" * smoke.DEGENERATE_RUN
    with FakeVLLM.start(adapters=("probe",)) as fake:
        fake.default_response = lambda req: "SELECT" + (run if req["model"] == "probe" else "")
        code, lines = _run(fake.base_url)
    assert code == 1 and lines[-1].startswith("FAIL one request each: probe: degenerate output")
    with FakeVLLM.start(adapters=("probe",)) as fake:
        fake.default_response = "SELECT" + run[:-1]  # one short of the edge
        assert _run(fake.base_url)[0] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (chat_completion("", finish_reason="stop"), "empty answer"),
        (chat_completion("text", finish_reason="abort"), "finish_reason='abort'"),
        ({"object": "error"}, "not a chat completion"),
    ],
)
def test_odd_answers_fail_with_what_was_odd(body: dict[str, Any], message: str) -> None:
    with FakeVLLM.start(adapters=("probe",)) as fake:
        fake.enqueue(body=body)
        code, lines = _run(fake.base_url)
    assert code == 1 and message in lines[-1] and lines[-1].startswith("FAIL one request each")


def test_an_engine_that_dies_in_the_mixed_batch_fails_it() -> None:
    with FakeVLLM.start(adapters=("probe",)) as fake:
        fake.enqueue(body=chat_completion("fine"))
        fake.enqueue(body=chat_completion("fine"))
        fake.enqueue(drop=True)  # the first request of the mixed batch loses its connection
        code, lines = _run(fake.base_url)
    assert code == 1 and lines[-1].startswith("FAIL mixed batch: ")
    assert "did the engine die?" in lines[-1]


def test_a_zero_adapter_that_answers_differently_from_the_base_fails() -> None:
    with FakeVLLM.start(adapters=("probe",)) as fake:
        fake.default_response = lambda req: f"answer from {req['model']}"
        code, lines = _run(fake.base_url, same_as_base=("probe",))
    assert code == 1 and "answered differently from the base" in lines[-1]


def test_a_server_that_never_answers_ping_fails_after_the_wait() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens
    lines: list[str] = []
    code = smoke.run(
        f"http://127.0.0.1:{port}", (), wait_s=0.0, report=lines.append, sleep=lambda _: None
    )
    assert code == 1 and lines[-1].startswith("FAIL ping: /ping did not answer 200 within 0 s")


def test_the_script_runs_as_an_operator_would() -> None:
    with FakeVLLM.start(adapters=("probe",)) as fake:
        done = subprocess.run(
            [sys.executable, str(SCRIPT), "--url", fake.base_url, "--adapter", "probe",
             "--wait", "10"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("PASS mixed batch")
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), "--adapter", "a", "--same-as-base", "b"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (
        bad.returncode == 2 and "--same-as-base b is not one of the --adapter names" in bad.stderr
    )
