"""Images (platforms) and the stack dependency order of the cloud assembly.

The agent image must be linux/arm64 (AgentCore), the model image
linux/amd64 (SageMaker GPU hosts). Stacks must deploy Images -> Bucket ->
Iam -> Model -> Runtime -> Monitoring -> Evaluation, with no cycle, so ``cdk destroy --all`` removes
them in the reverse order.
"""

from __future__ import annotations

import json
from typing import Any

from stacks.app_builder import STACK_ORDER
from stacks.config import load_stage
from stacks.images_stack import AGENT_IMAGE_DIR, MODEL_IMAGE_DIR
from tests.support.cdk_synth import synth_assembly


def _manifest(stage: str) -> dict[str, Any]:
    outdir, _ = synth_assembly(stage)
    manifest: dict[str, Any] = json.loads((outdir / "manifest.json").read_text())
    return manifest


def test_image_platforms_and_sources() -> None:
    outdir, _ = synth_assembly("dev")
    prefix = load_stage("dev").stack_prefix
    assets = json.loads((outdir / f"{prefix}-Images.assets.json").read_text())
    sources = {
        entry["source"]["directory"]: entry["source"]["platform"]
        for entry in assets["dockerImages"].values()
    }
    assert sources == {str(AGENT_IMAGE_DIR): "linux/arm64", str(MODEL_IMAGE_DIR): "linux/amd64"}


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
            for name in STACK_ORDER
        }
        assert deps == {
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
