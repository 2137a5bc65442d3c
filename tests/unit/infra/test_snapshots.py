"""Snapshot of every stack's template, per stage, asset hashes normalised.

A change to any template shows up as a diff of ``tests/snapshots/<stage>/<Stack>.json``.
To accept an intended change: ``make snapshot-update`` (pytest
``--snapshot-update``), review ``git diff tests/snapshots``, commit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stacks.app_builder import STACK_ORDER
from tests.support.cdk_synth import (
    ASSET_HASH_PLACEHOLDER,
    REPO_ROOT,
    normalize_asset_hashes,
)

SNAPSHOTS = REPO_ROOT / "tests" / "snapshots"


def _render(template: dict[str, Any]) -> str:
    return json.dumps(normalize_asset_hashes(template), indent=1, sort_keys=True) + "\n"


@pytest.mark.parametrize("stack", STACK_ORDER)
def test_template_matches_snapshot(
    stage_templates: tuple[str, dict[str, dict[str, Any]]], stack: str, snapshot_update: bool
) -> None:
    stage, templates = stage_templates
    path: Path = SNAPSHOTS / stage / f"{stack}.json"
    if stack not in templates:  # an optional stack this stage does not deploy
        assert not path.exists(), f"{path} is stale: {stage} deploys no {stack} stack"
        return
    rendered = _render(templates[stack])
    if snapshot_update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered)
        return
    assert path.exists(), f"no snapshot {path}: run `make snapshot-update` and review it"
    assert rendered == path.read_text(), (
        f"{stage}/{stack} template changed; if intended run `make snapshot-update` "
        "and review `git diff tests/snapshots`"
    )


def test_normalisation_replaces_asset_hashes_only() -> None:
    digest = "ab" * 32
    template = {"Image": f"repo:{digest}", "Key": f"{digest}.zip", "Name": "gptoss-agent-dev"}
    assert normalize_asset_hashes(template) == {
        "Image": f"repo:{ASSET_HASH_PLACEHOLDER}",
        "Key": f"{ASSET_HASH_PLACEHOLDER}.zip",
        "Name": "gptoss-agent-dev",
    }
