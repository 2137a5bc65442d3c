"""Images: the agent image is linux/arm64 (AgentCore), the model image linux/amd64 (GPUs)."""

from __future__ import annotations

import json

from stacks.config import load_stage
from stacks.images_stack import AGENT_IMAGE_DIR, MODEL_IMAGE_DIR
from tests.support.cdk_synth import synth_assembly


def test_image_platforms_and_sources() -> None:
    outdir, _ = synth_assembly("dev")
    prefix = load_stage("dev").stack_prefix
    assets = json.loads((outdir / f"{prefix}-Images.assets.json").read_text())
    sources = {
        entry["source"]["directory"]: entry["source"]["platform"]
        for entry in assets["dockerImages"].values()
    }
    assert sources == {str(AGENT_IMAGE_DIR): "linux/arm64", str(MODEL_IMAGE_DIR): "linux/amd64"}
