"""Training dependencies: pinned, the job's agree with the smoke test's, none in the agent."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.test_pins import declared_pins as _pins
from tests.unit.test_pins import read_lock

ROOT = Path(__file__).resolve().parents[3]
TRAINERS = ("torch", "transformers", "trl", "peft", "accelerate", "datasets")


def test_training_requirement_files_pin_exact_versions() -> None:
    smoke = _pins(ROOT / "training" / "requirements.txt")
    job = _pins(ROOT / "training" / "requirements-job.txt")
    torch = _pins(ROOT / "training" / "requirements-torch.txt")
    assert set(job) == {"transformers", "trl", "peft", "accelerate", "datasets"}
    assert {name: smoke[name] for name in job} == job  # the job trains with what the smoke ran
    assert set(torch) == {"torch"} and "torch" not in smoke


def test_trainers_stay_out_of_the_agent_image_and_the_dev_environment() -> None:
    for path in (
        ROOT / "agent_runtime" / "requirements.txt",
        ROOT / "requirements.txt",
        ROOT / "requirements-dev.txt",
    ):
        assert not set(_pins(path)) & set(TRAINERS), path
    # The hash-locked installs (dev venv and agent image) hold none of them either.
    for lock in (ROOT / "requirements.lock", ROOT / "agent_runtime" / "requirements.lock"):
        assert not {entry.name for entry in read_lock(lock)} & set(TRAINERS), lock


def test_demo_and_ci_do_not_install_the_trainers() -> None:
    makefile = (ROOT / "Makefile").read_text()
    demo = re.search(r"^demo:(.*)$", makefile, re.M)
    assert demo is not None and "train" not in demo.group(1)
    assert "train-smoke" not in (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^train-smoke:", makefile, re.M)
