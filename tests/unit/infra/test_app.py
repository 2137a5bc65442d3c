"""The app with cdk-nag AwsSolutions on, both stages, and ``app.py`` as the CDK CLI runs it.

prod is synthesized by the real entry point (``CDK_CONTEXT_JSON`` with the
``cdk.json`` context, ``CDK_OUTDIR``), so it also proves that the context
decides the stage; dev by the same ``build_app(nag=True)`` in-process. A bad
value stops ``app.py`` with one line naming the key instead of a stack trace.
"""

from __future__ import annotations

import json

import pytest

from stacks.app_builder import stage_stacks
from stacks.config import ConfigError, load_stage
from tests.support.cdk_synth import STAGES, CliSynth, cdk_json_context, run_app

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("stage", STAGES)
def test_app_synthesizes_every_stack_with_no_nag_finding(
    nag_synth: dict[str, CliSynth], stage: str
) -> None:
    result = nag_synth[stage]
    assert result.returncode == 0, result.output
    prefix = load_stage(stage).stack_prefix
    expected = stage_stacks(load_stage(stage))
    assert sorted(result.templates()) == sorted(f"{prefix}-{name}" for name in expected)
    # cdk-nag lists violations only (a clean run writes []); that app.py turns the
    # plugin on is test_app_py_turns_cdk_nag_on, that it bites the negative control.
    report = json.loads((result.outdir / "validation-report.json").read_text())
    assert report["pluginReports"] == [], report
    assert "AwsSolutions" not in result.output, result.output
    # The acknowledgments reached the assembly: each names one finding and has a reason.
    acknowledged = [
        entry["data"]
        for path in result.outdir.glob("*.metadata.json")
        for entries in json.loads(path.read_text()).values()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
    ]
    assert acknowledged
    for data in acknowledged:
        for rule_id, reason in data.items():
            assert "AwsSolutions-" in rule_id, rule_id
            assert len(reason) >= 20, (rule_id, reason)


@pytest.mark.parametrize("stage", STAGES)
def test_synth_leaves_no_unacknowledged_annotation(
    nag_synth: dict[str, CliSynth], stage: str
) -> None:
    """Warnings and infos are read or acknowledged with a reason, never left to scroll by."""
    result = nag_synth[stage]
    left = [
        (path, entry["type"], entry["data"])
        for metadata in result.outdir.glob("*.metadata.json")
        for path, entries in json.loads(metadata.read_text()).items()
        for entry in entries
        if entry["type"] in ("aws:cdk:error", "aws:cdk:warning", "aws:cdk:info")
    ]
    assert left == []
    assert "Acknowledge with" not in result.output, result.output


def test_nag_plugin_rejects_an_unacknowledged_finding() -> None:
    """Negative control: the same build_app with nag on fails on a non-compliant bucket."""
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3

    from stacks.app_builder import build_app
    from tests.support.cdk_synth import cdk_json_context

    app = cdk.App(context={**cdk_json_context(), "aws:cdk:disable-asset-staging": True})
    stacks = build_app(app, config=load_stage("dev"), nag=True)
    s3.Bucket(stacks.bucket, "Unprotected")
    with pytest.raises(RuntimeError, match="ValidationFailed") as caught:
        app.synth()
    assert "GptOssAgent-dev-Bucket/Unprotected" in str(caught.value)
    assert "AwsSolutions-S10" in str(caught.value)


def test_app_py_turns_cdk_nag_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """app.py builds with the plugin on (a clean nag run leaves no other trace to check)."""
    import app

    calls: list[dict[str, object]] = []

    class Stop(Exception):
        pass

    def record(*_args: object, **kwargs: object) -> None:
        calls.append(kwargs)
        raise Stop

    monkeypatch.setattr(app, "build_app", record)
    with pytest.raises(Stop):
        app.main()
    assert [c["nag"] for c in calls] == [True]


def test_stage_comes_from_context(nag_synth: dict[str, CliSynth]) -> None:
    for stage in STAGES:
        model = nag_synth[stage].templates()[f"{load_stage(stage).stack_prefix}-Model"]
        names = [
            r["Properties"]["EndpointName"]
            for r in model["Resources"].values()
            if r["Type"] == "AWS::SageMaker::Endpoint"
        ]
        assert names == [load_stage(stage).endpoint_name]


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"stage": "staging"}, "stage='staging' is invalid: expected dev | prod"),
        (
            {"stage": "dev", "config.endpoint.instance_type": "ml.m5.xlarge"},
            "endpoint.instance_type='ml.m5.xlarge' is invalid: expected an NVIDIA GPU",
        ),
        (
            {"stage": "dev", "config.operations.alarms.email": "nobody"},
            "operations.alarms.email='nobody' is invalid: expected an e-mail address",
        ),
    ],
)
def test_bad_context_names_key_value_and_what_is_allowed(
    context: dict[str, str], expected: str
) -> None:
    """The context app.py reads (``cdk.json`` plus ``-c``) -> one ConfigError line."""
    from app import config_from_context

    with pytest.raises(ConfigError) as caught:
        config_from_context({**cdk_json_context(), **context})
    assert str(caught.value).startswith(expected), caught.value


def test_bad_context_stops_app_py_with_one_line_and_no_template(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The whole path once, as the CDK CLI runs it: exit 2, one line, no stack trace."""
    outdir = tmp_path_factory.mktemp("bad")
    process = run_app(outdir, {"stage": "dev", "config.endpoint.instance_type": "ml.m5.xlarge"})
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith(
        "cdk synth: configuration error: endpoint.instance_type='ml.m5.xlarge' is invalid: "
        "expected an NVIDIA GPU"
    ), output
    assert "Traceback" not in output
    assert not list(outdir.glob("*.template.json"))


def test_cdk_json_runs_the_app_from_the_venv() -> None:
    from tests.support.cdk_synth import CDK_JSON

    cdk_json = json.loads(CDK_JSON.read_text())
    assert cdk_json["app"] == ".venv/bin/python app.py"
    assert cdk_json["context"]["@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"] is True
