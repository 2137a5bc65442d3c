"""cfn-lint over every template of both stages (cdk-nag on; prod from ``app.py`` itself),
of prod with the watchlist schedule on and of prod with a canary endpoint: zero errors.

One cfn-lint process lints all of them (loading its rules once).
Warnings are not failures; the ones seen today are W3005 "DependsOn already
enforced by a GetAtt", which is deliberate for the inference component
(the explicit ``DependsOn`` documents the destroy order) and comes from
the AgentCore L2 for the runtime endpoint and log delivery.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stacks.app_builder import stage_stacks
from stacks.config import load_stage
from tests.support.cdk_synth import (
    STAGES,
    CliSynth,
    canary_prod_nag_assembly,
    scheduled_prod_nag_assembly,
)

pytestmark = pytest.mark.slow

CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def test_templates_have_no_cfn_lint_errors(nag_synth: dict[str, CliSynth]) -> None:
    paths = []
    for stage in STAGES:
        assert nag_synth[stage].returncode == 0, nag_synth[stage].output
        paths += sorted(nag_synth[stage].outdir.glob("*.template.json"))
    scheduled, _ = scheduled_prod_nag_assembly()
    paths += sorted(scheduled.glob("*.template.json"))
    canary, _ = canary_prod_nag_assembly()
    paths += sorted(canary.glob("*.template.json"))
    # every stack of both stages and of the two prod variants (scheduled, canary)
    assert len(paths) == sum(len(stage_stacks(load_stage(s))) for s in (*STAGES, "prod", "prod"))
    lint = subprocess.run(
        [str(CFN_LINT), "--format", "json", "--regions", "us-east-1", "us-west-2", "--",
         *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )  # fmt: skip
    matches = json.loads(lint.stdout or "[]")
    errors = [m for m in matches if m["Rule"]["Id"].startswith("E")]
    assert errors == [], json.dumps(errors, indent=1)
    # Exit code 0 or 4 (warnings only); 2 would mean errors, 1 a crash.
    assert lint.returncode in (0, 4), lint.stderr
