"""Synthesize the CDK app in-process for tests, once per (stage, overrides).

Other engineers' tests read the synthesized templates through
:func:`synth_templates` (e.g. the model container's environment); the infra
tests also use :func:`synth_assembly` for the files on disk. The app is
built exactly as ``app.py`` builds it (``stacks.app_builder.build_app``,
the feature flags from ``cdk.json``) but **without** the cdk-nag plugin:
the nag tests run ``app.py`` itself (prod), and :func:`nag_synth_assembly`
adds the plugin in-process for dev and other configurations.

Synthesizing takes seconds, so results are cached in the process
(:func:`functools.cache`) and shared by the pytest-xdist workers of one run
(:mod:`tests.support.run_cache`); treat the returned dicts and folders as
read-only.

Overrides are config keys with ``__`` for the dot, e.g.
``synth_templates("dev", model__weights_s3_uri="s3://bucket/weights/")``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk

from stacks.app_builder import build_app
from stacks.config import load_stage
from tests.support import run_cache

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_JSON = REPO_ROOT / "cdk.json"

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
ASSET_HASH_PLACEHOLDER = "<ASSET_HASH>"


def cdk_json_context() -> dict[str, Any]:
    """The context of ``cdk.json`` (feature flags), as the CDK CLI passes it to the app."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def overrides_to_config_keys(overrides: dict[str, Any]) -> dict[str, Any]:
    """``{"model__weights_s3_uri": v}`` -> ``{"model.weights_s3_uri": v}``."""
    return {key.replace("__", "."): value for key, value in overrides.items()}


@functools.cache
def synth_assembly(stage: str, **overrides: Any) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Synthesize into a cloud assembly folder; return the folder and the templates.

    Once per test run across pytest-xdist workers (:mod:`tests.support.run_cache`).
    """
    key = f"synth_assembly {stage} {sorted(overrides.items())!r}"
    return run_cache.computed_once(key, lambda outdir: _synth(outdir, stage, overrides))


@functools.cache
def nag_synth_assembly(stage: str, **overrides: Any) -> tuple[Path, dict[str, dict[str, Any]]]:
    """As :func:`synth_assembly`, with the cdk-nag plugin on, exactly as ``app.py`` adds it.

    A finding fails the synth (``RuntimeError`` naming the rule and the path);
    once per test run across workers, like the others.
    """
    key = f"nag_synth_assembly {stage} {sorted(overrides.items())!r}"
    return run_cache.computed_once(key, lambda outdir: _synth(outdir, stage, overrides, nag=True))


def _synth(
    outdir: Path, stage: str, overrides: dict[str, Any], *, nag: bool = False
) -> dict[str, dict[str, Any]]:
    config = load_stage(stage, overrides_to_config_keys(overrides))
    context = {**cdk_json_context(), "stage": stage, "aws:cdk:disable-asset-staging": True}
    app = cdk.App(outdir=str(outdir), context=context, analytics_reporting=False)
    stacks = build_app(app, config=config, nag=nag)
    assembly = app.synth()
    return {
        name: assembly.get_stack_by_name(stack.stack_name).template
        for name, stack in stacks.by_name().items()
    }


def synth_templates(stage: str, **overrides: Any) -> dict[str, dict[str, Any]]:
    """Short stack name ("Images", "Bucket", "Iam", "Model", "Runtime") -> template dict."""
    return synth_assembly(stage, **overrides)[1]


def normalize_asset_hashes(value: Any) -> Any:
    """Replace every 64-hex asset hash (image tags, asset keys) with a placeholder."""
    if isinstance(value, str):
        return _ASSET_HASH.sub(ASSET_HASH_PLACEHOLDER, value)
    if isinstance(value, list):
        return [normalize_asset_hashes(v) for v in value]
    if isinstance(value, dict):
        return {normalize_asset_hashes(k): normalize_asset_hashes(v) for k, v in value.items()}
    return value


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource of ``resource_type`` in ``template``."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def only(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    """The single resource of ``resource_type`` (fails if there is not exactly one)."""
    found = resources(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


STAGES = ("dev", "prod")


@dataclass(frozen=True)
class CliSynth:
    """Result of one ``app.py`` run."""

    returncode: int
    outdir: Path
    output: str

    def templates(self) -> dict[str, dict[str, Any]]:
        """Stack name -> template, read from the cloud assembly on disk."""
        return {
            path.name.removesuffix(".template.json"): json.loads(path.read_text())
            for path in sorted(self.outdir.glob("*.template.json"))
        }


def run_app(outdir: Path, context: dict[str, Any]) -> subprocess.Popen[str]:
    """Start ``app.py`` as the CDK CLI would, writing the assembly into ``outdir``."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({**cdk_json_context(), **context}),
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    env.pop("CDK_DEFAULT_ACCOUNT", None)
    env.pop("CDK_DEFAULT_REGION", None)
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "app.py")],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


# One non-default configuration exercising every optional branch at once (one synth):
# weights from S3 with network isolation, a JWT authorizer (presigned report links are
# on by default).
VARIANT_WEIGHTS_URI = "s3://example-weights/gpt-oss-20b/"
VARIANT_JWT_DISCOVERY_URL = "https://idp.example.com/.well-known/openid-configuration"


def variant_templates() -> dict[str, dict[str, Any]]:
    """dev with every optional feature switched on (cached like the others)."""
    from stacks.config import JwtSettings

    return synth_templates(
        "dev",
        model__weights_s3_uri=VARIANT_WEIGHTS_URI,
        model__network_isolation=True,
        runtime__jwt=JwtSettings(
            discovery_url=VARIANT_JWT_DISCOVERY_URL,
            allowed_clients=("agent-web-client",),
            allowed_audience=("stock-agent",),
        ),
    )


# Every option that changes the runtime's environment, away from its default at once:
# no report links, a LoRA adapter, the scheduled reports and their notifications.
FLIPPED_ADAPTER = "stock-narrator"
FLIPPED_OPTIONS: dict[str, Any] = {
    "storage__presigned_link_seconds": None,
    "runtime__model_adapter": FLIPPED_ADAPTER,
    "model__adapters": (f"{FLIPPED_ADAPTER}=s3://example-adapters/{FLIPPED_ADAPTER}/",),
    "schedule__watchlist": "AAPL,MSFT",
}


def flipped_templates(stage: str) -> dict[str, dict[str, Any]]:
    """``stage`` with :data:`FLIPPED_OPTIONS` (cached like the others)."""
    return synth_templates(stage, **FLIPPED_OPTIONS)


# The schedule (and its notifications) switched on in prod: linted and nag-checked with
# the two default stages.
SCHEDULED_WATCHLIST = "AAPL,MSFT"


def scheduled_prod_nag_assembly() -> tuple[Path, dict[str, dict[str, Any]]]:
    """prod with the watchlist schedule (and its notifications) on, cdk-nag on."""
    return nag_synth_assembly("prod", schedule__watchlist=SCHEDULED_WATCHLIST)


# A canary endpoint on the adapter's runtime version while live stays pinned to the base
# version: the promotion set-up of docs/customization.md, nag-checked and linted.
CANARY_ADAPTER = "narrator-v1=s3://example-models/adapters/narrator-v1/"
CANARY_LIVE_VERSION = 4


def canary_prod_nag_assembly() -> tuple[Path, dict[str, dict[str, Any]]]:
    """prod serving an adapter on a canary endpoint, live pinned to version 4, cdk-nag on."""
    return nag_synth_assembly(
        "prod",
        model__adapters=CANARY_ADAPTER,
        runtime__model_adapter=CANARY_ADAPTER.split("=", 1)[0],
        runtime__canary="true",
        runtime__live_version=str(CANARY_LIVE_VERSION),
    )


def dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    """The one dashboard's body as JSON (tokens inside ``Fn::Join`` replaced by ``<token>``)."""
    [dashboard] = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, dict):
        body = "".join(p if isinstance(p, str) else "<token>" for p in body["Fn::Join"][1])
    return dict(json.loads(body))
