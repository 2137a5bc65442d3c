"""The deploy workflow, the base-image digest check and the checkov gate of ``make scan``.

checkov itself is not run here (it lives in its own venv and takes a
minute: ``make scan``); the gate is fed checkov-shaped JSON reports, in the
exact structure checkov 3.3 writes with ``--output json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cdk_synth import REPO_ROOT
from tools.checkov_gate import (
    AllowListError,
    ResultError,
    findings_from_report,
    gate,
    parse_allowlist,
    run,
)
from tools.verify_base_images import VerificationError, pinned_images, verify

DEPLOY_WORKFLOW = REPO_ROOT / ".github" / "workflows" / "deploy.yml"
ALLOWLIST = REPO_ROOT / "scan" / "allowlist.txt"
RELIABILITY_DOC = REPO_ROOT / "docs" / "reliability.md"
DOCKERFILES = [
    REPO_ROOT / "model_container" / "Dockerfile",
    REPO_ROOT / "agent_runtime" / "Dockerfile",
]
ACCESS_LOGS = "AWS::S3::Bucket.ReportAccessLogBucket"


# -- deploy.yml ----------------------------------------------------------------------------


def _deploy_steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(DEPLOY_WORKFLOW.read_text())
    steps: list[dict[str, Any]] = workflow["jobs"]["deploy"]["steps"]
    return steps


def _index(steps: list[dict[str, Any]], predicate: Any) -> int:
    matches = [i for i, step in enumerate(steps) if predicate(step)]
    assert len(matches) == 1, f"expected one matching step, found {matches}"
    return matches[0]


def test_deploy_frees_disk_and_verifies_digests_before_anything_is_built_or_pushed() -> None:
    steps = _deploy_steps()
    free = _index(steps, lambda s: "rm -rf /usr/local/lib/android" in s.get("run", ""))
    verify_step = _index(steps, lambda s: "tools/verify_base_images.py" in s.get("run", ""))
    credentials = _index(steps, lambda s: "configure-aws-credentials" in s.get("uses", ""))
    deploy = _index(steps, lambda s: "cdk deploy" in s.get("run", ""))
    assert free < verify_step < credentials < deploy
    run = steps[verify_step]["run"]
    assert "model_container/Dockerfile" in run and "agent_runtime/Dockerfile" in run
    # The free-space step stops the job early, naming the fix, when space is still short.
    assert "MIN_FREE_DISK_GB" in steps[free]["run"] and "exit 1" in steps[free]["run"]


def test_deploy_runner_can_be_switched_to_a_larger_one_and_buildx_setup_is_gone() -> None:
    workflow = yaml.safe_load(DEPLOY_WORKFLOW.read_text())
    job = workflow["jobs"]["deploy"]
    assert job["runs-on"] == "${{ vars.DEPLOY_RUNNER || 'ubuntu-latest' }}"
    assert int(job["env"]["MIN_FREE_DISK_GB"]) >= 40
    uses = [step.get("uses", "") for step in job["steps"]]
    # CDK builds with plain `docker build`; a buildx container builder would not
    # load the image for `docker push`. QEMU stays: the agent image is arm64.
    assert not any("setup-buildx-action" in u for u in uses)
    assert any(u.startswith("docker/setup-qemu-action") for u in uses)


def test_the_full_cdk_type_check_runs_before_any_deploy() -> None:
    """`make lint` treats aws-cdk-lib as opaque; the deploy's test job checks it in full."""
    workflow = yaml.safe_load(DEPLOY_WORKFLOW.read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["test"]["steps"]]
    assert runs.index("make test") < runs.index("make typecheck-cdk")
    assert workflow["jobs"]["deploy"]["needs"] == "test"


def test_the_full_cdk_type_check_is_as_strict_as_make_lint() -> None:
    """tools/mypy-cdk.ini differs from pyproject's [tool.mypy] only in following aws_cdk."""
    import configparser
    import tomllib

    lint = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    full = configparser.ConfigParser()
    full.read(REPO_ROOT / "tools" / "mypy-cdk.ini")
    flags = {k: v for k, v in lint.items() if isinstance(v, bool)}
    assert flags and {k: full.getboolean("mypy", k) for k in flags} == flags
    assert full.get("mypy", "python_version") == lint["python_version"]
    opaque = {m for o in lint["overrides"] for m in o["module"] if o["follow_imports"] == "skip"}
    assert opaque == {"aws_cdk", "aws_cdk.*", "cdk_nag", "cdk_nag.*", "constructs", "constructs.*"}
    assert not full.has_section("mypy-aws_cdk.*")
    checked = {f.strip() for f in full.get("mypy", "files").split(",")}
    assert {"stacks", "app.py"} <= checked <= set(lint["files"])


# -- verify_base_images ----------------------------------------------------------------------


def test_both_dockerfiles_pin_one_base_image_each() -> None:
    images = [image for dockerfile in DOCKERFILES for image in pinned_images(dockerfile)]
    assert [image.reference for image in images] == [
        "vllm/vllm-openai:v0.30.0",
        "python:3.11.14-slim-bookworm",
    ]
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", image.digest) for image in images)


def test_verify_passes_when_the_registry_serves_the_pinned_digests() -> None:
    pins = {i.reference: i.digest for d in DOCKERFILES for i in pinned_images(d)}
    asked: list[str] = []

    def registry(reference: str) -> str:
        asked.append(reference)
        return pins[reference]

    assert len(verify(DOCKERFILES, inspect=registry)) == 2
    assert asked == list(pins)


def test_verify_fails_on_a_moved_tag_naming_both_digests() -> None:
    moved = "sha256:" + "0" * 64
    with pytest.raises(VerificationError, match=rf"vllm/vllm-openai:v0\.30\.0 .*{moved}"):
        verify(DOCKERFILES, inspect=lambda reference: moved)


def test_an_unpinned_from_is_an_error(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim\nRUN true\n")
    with pytest.raises(VerificationError, match=r"FROM python:3\.11-slim has no @sha256"):
        pinned_images(dockerfile)
    # A later stage may build FROM an earlier, pinned one.
    digest = "sha256:" + "a" * 64
    dockerfile.write_text(f"FROM python:3.11-slim@{digest} AS base\nFROM base\n")
    assert [i.reference for i in pinned_images(dockerfile)] == ["python:3.11-slim"]


# -- checkov gate ------------------------------------------------------------------------------


def _report(*failed: tuple[str, str, str]) -> dict[str, Any]:
    """A checkov 3.3 ``--output json`` report (cloudformation framework) with these failures."""
    return {
        "check_type": "cloudformation",
        "results": {
            "passed_checks": [],
            "failed_checks": [
                {
                    "check_id": check_id,
                    "check_name": f"name of {check_id}",
                    "file_path": f"/{stack.split('-')[1]}/{stack}.template.json",
                    "resource": resource,
                    "check_result": {"result": "FAILED"},
                }
                for check_id, stack, resource in failed
            ],
            "skipped_checks": [],
            "parsing_errors": [],
        },
        "summary": {"passed": 10, "failed": len(failed), "checkov_version": "3.3.30"},
    }


LIST = parse_allowlist(
    "# comment\n\n"
    "CKV_AWS_18 | GptOssAgent-*-Bucket | AWS::S3::Bucket.ReportAccessLogBucket | "
    "the access-log target cannot log to itself\n"
    "CKV_AWS_115 | GptOssAgent-dev-Bucket | AWS::Lambda::Function.CustomS3* | "
    "CDK's own dev-only cleanup function\n"
)


def test_gate_passes_when_every_finding_is_explained_and_every_line_used() -> None:
    findings = findings_from_report(
        _report(
            ("CKV_AWS_18", "GptOssAgent-prod-Bucket", "AWS::S3::Bucket.ReportAccessLogBucket"),
            ("CKV_AWS_115", "GptOssAgent-dev-Bucket", "AWS::Lambda::Function.CustomS3Handler1"),
        )
    )
    result = gate(findings, LIST)
    assert result.ok and len(result.explained) == 2


@pytest.mark.parametrize(
    "failed",
    [
        ("CKV_AWS_158", "GptOssAgent-prod-Model", "AWS::Logs::LogGroup.EndpointLogGroup"),
        # the dev-only line does not cover prod
        ("CKV_AWS_115", "GptOssAgent-prod-Bucket", "AWS::Lambda::Function.CustomS3Handler1"),
        # same check, another resource
        ("CKV_AWS_18", "GptOssAgent-prod-Bucket", "AWS::S3::Bucket.ReportBucket"),
    ],
)
def test_gate_fails_on_an_unexplained_finding(failed: tuple[str, str, str]) -> None:
    both = _report(
        ("CKV_AWS_18", "GptOssAgent-dev-Bucket", "AWS::S3::Bucket.ReportAccessLogBucket"),
        ("CKV_AWS_115", "GptOssAgent-dev-Bucket", "AWS::Lambda::Function.CustomS3Handler1"),
        failed,
    )
    result = gate(findings_from_report(both), LIST)
    assert not result.ok
    assert [(f.check_id, f.stack, f.resource) for f in result.unexplained] == [failed]


def test_gate_fails_on_a_stale_line_that_explains_nothing() -> None:
    only_one = _report(
        ("CKV_AWS_18", "GptOssAgent-dev-Bucket", "AWS::S3::Bucket.ReportAccessLogBucket")
    )
    result = gate(findings_from_report(only_one), LIST)
    assert not result.ok and [e.check_id for e in result.stale] == ["CKV_AWS_115"]


def test_run_exit_codes_on_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    allow = tmp_path / "allow.txt"
    allow.write_text(
        "CKV_AWS_18 | GptOssAgent-*-Bucket | AWS::S3::Bucket.ReportAccessLogBucket | "
        "the access-log target cannot log to itself\n"
    )
    good = tmp_path / "good.json"
    good.write_text(json.dumps([_report(("CKV_AWS_18", "GptOssAgent-dev-Bucket", ACCESS_LOGS))]))
    bad = tmp_path / "bad.json"
    unexplained = ("CKV_AWS_21", "GptOssAgent-dev-Bucket", "AWS::S3::Bucket.X")
    bad.write_text(json.dumps(_report(unexplained)))
    assert run([good], allow) == 0
    assert run([good, bad], allow) == 1
    assert "UNEXPLAINED CKV_AWS_21 GptOssAgent-dev-Bucket AWS::S3::Bucket.X" in caplog.text
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert run([broken], allow) == 2
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0}))
    assert run([empty], allow) == 2


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("CKV_AWS_18 | GptOssAgent-*-Bucket | AWS::S3::Bucket.X", "expected 'CHECK_ID"),
        ("CKV_AWS_18 | GptOssAgent-*-Bucket | AWS::S3::Bucket.X | too short", "shorter than 20"),
        ("AwsSolutions-S1 | * | * | a reason that is long enough", "not a checkov check id"),
        ("CKV_AWS_18 |  | AWS::S3::Bucket.X | a reason that is long enough", "expected 'CHECK_ID"),
    ],
)
def test_allowlist_lines_need_four_fields_and_a_real_reason(line: str, error: str) -> None:
    with pytest.raises(AllowListError, match=rf"line 2: .*{re.escape(error)}"):
        parse_allowlist("# header\n" + line + "\n")


def test_a_reason_of_exactly_twenty_characters_is_enough() -> None:
    (entry,) = parse_allowlist("CKV_AWS_18 | * | * | " + "x" * 20)
    assert entry.reason == "x" * 20


def test_report_without_results_is_rejected() -> None:
    with pytest.raises(ResultError, match="no resources"):
        findings_from_report({"passed": 0, "failed": 0})


def test_the_projects_allowlist_parses_and_every_line_is_in_the_reliability_doc() -> None:
    entries = parse_allowlist(ALLOWLIST.read_text())
    assert {e.check_id for e in entries} == {
        "CKV_AWS_18",
        "CKV_AWS_370",
        "CKV_AWS_115",
        "CKV_AWS_116",
        "CKV_AWS_117",
    }
    doc = RELIABILITY_DOC.read_text()
    for entry in entries:
        assert entry.render() in doc, f"docs/reliability.md lacks: {entry.render()}"


def test_make_scan_runs_checkov_on_both_stages_and_gates_on_the_allowlist() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile.split("\nscan:", 1)[1].split("\n\n", 1)[0]
    assert "for stage in dev prod" in recipe
    assert "--framework cloudformation" in recipe and "--output json" in recipe
    assert "-m tools.checkov_gate --allowlist scan/allowlist.txt" in recipe
    assert "$(SCAN_OUT)/dev.json $(SCAN_OUT)/prod.json" in recipe
    lock = (REPO_ROOT / "scan" / "requirements.lock").read_text()
    assert re.search(r"^checkov==3\.3\.\d+$", lock, re.M)
