"""Fixtures of the infrastructure tests: one synthesized app per stage per session.

``templates_by_stage`` synthesizes in-process without cdk-nag (shared with
other engineers' tests through ``tests.support.cdk_synth``).
``cli_synth`` runs ``app.py`` itself, the way ``npx cdk synth`` does (cdk.json
context in ``CDK_CONTEXT_JSON``, output folder in ``CDK_OUTDIR``), with the
cdk-nag plugin on, for both stages in parallel. Both run once per test run,
whatever the number of pytest-xdist workers (``tests.support.run_cache``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.cdk_synth import STAGES, CliSynth, run_app, synth_templates
from tests.support.run_cache import computed_once


def _cli_synth_both_stages(outdir: Path) -> dict[str, dict[str, Any]]:
    running = {}
    for stage in STAGES:
        (outdir / stage).mkdir()
        running[stage] = run_app(outdir / stage, {"stage": stage})
    results = {}
    for stage, process in running.items():
        output, _ = process.communicate(timeout=240)
        results[stage] = {"returncode": process.returncode, "output": output}
    return results


@pytest.fixture(scope="session")
def cli_synth() -> dict[str, CliSynth]:
    """``app.py`` with cdk-nag on, for dev and prod (run in parallel, once per test run)."""
    outdir, results = computed_once("cli_synth", _cli_synth_both_stages)
    return {stage: CliSynth(outdir=outdir / stage, **results[stage]) for stage in STAGES}


@pytest.fixture(scope="session")
def dev_templates() -> dict[str, dict[str, Any]]:
    """The dev stage's templates (no nag), keyed Images/Bucket/Iam/Model/Runtime."""
    return synth_templates("dev")


@pytest.fixture(scope="session")
def prod_templates() -> dict[str, dict[str, Any]]:
    """The prod stage's templates (no nag), keyed Images/Bucket/Iam/Model/Runtime."""
    return synth_templates("prod")


@pytest.fixture(scope="session", params=STAGES)
def stage_templates(request: pytest.FixtureRequest) -> tuple[str, dict[str, dict[str, Any]]]:
    """(stage, templates) for each stage: for checks that must hold in both."""
    return request.param, synth_templates(request.param)
