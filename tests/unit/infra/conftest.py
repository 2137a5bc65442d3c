"""Fixtures of the infrastructure tests: one synthesized app per stage per session.

``templates_by_stage`` synthesizes in-process without cdk-nag (shared with
other engineers' tests through ``tests.support.cdk_synth``).
``cli_synth`` runs ``app.py`` itself, the way ``npx cdk synth`` does (cdk.json
context in ``CDK_CONTEXT_JSON``, output folder in ``CDK_OUTDIR``), with the
cdk-nag plugin on, for both stages in parallel.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cdk_synth import STAGES, CliSynth, run_app, synth_templates


@pytest.fixture(scope="session")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CliSynth]]:
    """``app.py`` with cdk-nag on, for dev and prod (run in parallel)."""
    running = {}
    for stage in STAGES:
        outdir = tmp_path_factory.mktemp(f"cdk-out-{stage}")
        running[stage] = (outdir, run_app(outdir, {"stage": stage}))
    results = {}
    for stage, (outdir, process) in running.items():
        output, _ = process.communicate(timeout=240)
        results[stage] = CliSynth(returncode=process.returncode, outdir=outdir, output=output)
    yield results


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
