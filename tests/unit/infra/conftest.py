"""Fixtures of the infrastructure tests: one synthesized app per stage per session.

``templates_by_stage`` synthesizes in-process without cdk-nag (shared with
other engineers' tests through ``tests.support.cdk_synth``).
``nag_synth`` has both stages with the cdk-nag plugin on: prod from ``app.py``
itself, the way ``npx cdk synth`` runs it (cdk.json context in
``CDK_CONTEXT_JSON``, output folder in ``CDK_OUTDIR``), dev in-process. Each
runs once per test run, whatever the number of pytest-xdist workers
(``tests.support.run_cache``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.cdk_synth import STAGES, CliSynth, nag_synth_assembly, run_app, synth_templates
from tests.support.run_cache import computed_once


def _app_py_prod(outdir: Path) -> dict[str, Any]:
    process = run_app(outdir, {"stage": "prod"})
    output, _ = process.communicate(timeout=240)
    return {"returncode": process.returncode, "output": output}


@pytest.fixture(scope="session")
def nag_synth() -> dict[str, CliSynth]:
    """Both stages with cdk-nag on, once per test run.

    prod runs ``app.py`` itself as the CDK CLI does (the non-default stage, so
    the context must reach it); dev goes through the same ``build_app(nag=True)``
    in-process, which saves a second interpreter and CDK start-up.
    """
    outdir, result = computed_once("app.py prod", _app_py_prod)
    dev_outdir, _ = nag_synth_assembly("dev")
    return {
        "prod": CliSynth(outdir=outdir, **result),
        "dev": CliSynth(returncode=0, outdir=dev_outdir, output=""),
    }


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
