"""The app builder: the stacks' dependency order in the cloud assembly.

Stacks must deploy Images -> Bucket -> Memory -> Iam -> Model -> Runtime ->
Monitoring -> Evaluation (and Mcp after Images, Bucket and Iam where it is on),
with no cycle, so ``cdk destroy --all`` removes them in the reverse order.
"""

from __future__ import annotations

import json
from typing import Any

from stacks.app_builder import STACK_ORDER, stage_stacks
from stacks.config import load_stage
from tests.support.cdk_synth import synth_assembly


def _manifest(stage: str) -> dict[str, Any]:
    outdir, _ = synth_assembly(stage)
    manifest: dict[str, Any] = json.loads((outdir / "manifest.json").read_text())
    return manifest


def test_stacks_depend_on_each_other_in_order_without_cycles() -> None:
    for stage in ("dev", "prod"):
        prefix = load_stage(stage).stack_prefix
        artifacts = _manifest(stage)["artifacts"]
        deps = {
            name: {
                d.removeprefix(f"{prefix}-")
                for d in artifacts[f"{prefix}-{name}"].get("dependencies", [])
                if d.startswith(prefix) and not d.endswith(".assets")
            }
            for name in stage_stacks(load_stage(stage))
        }
        mcp = {"Mcp": {"Images", "Bucket", "Iam"}} if load_stage(stage).mcp.enabled else {}
        assert deps == {
            **mcp,
            "Images": set(),
            "Bucket": set(),
            "Memory": set(),
            "Iam": {"Images", "Bucket", "Memory"},
            "Model": {"Images", "Iam"},
            "Runtime": {"Images", "Bucket", "Memory", "Iam", "Model"},
            "Monitoring": {"Model", "Runtime"},
            "Evaluation": {"Iam", "Runtime"},
        }
        # Every dependency points strictly earlier in STACK_ORDER: a cycle is impossible.
        for name, needs in deps.items():
            assert all(STACK_ORDER.index(n) < STACK_ORDER.index(name) for n in needs)
