"""``--baseline`` / ``--candidate``: every spelling of a target, and every refusal by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from stock_agent.settings import ConfigError

from eval.sides import FORMS, Side, SideError, build_target, parse_side
from eval.targets import InProcessTarget, UrlTarget

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/stock_agent-AbCdEf1234"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://127.0.0.1:8080", Side("candidate", "url", url="http://127.0.0.1:8080")),
        ("https://agent.example", Side("candidate", "url", url="https://agent.example")),
        (ARN, Side("candidate", "runtime", arn=ARN, qualifier="DEFAULT")),
        ("qualifier:canary", Side("candidate", "runtime", arn=ARN, qualifier="canary")),
        (
            "model:openai/gpt-oss-20b",
            Side("candidate", "model", url="http://m:8000/v1", model_name="openai/gpt-oss-20b"),
        ),
        (
            "model:base@http://127.0.0.1:9/v1",
            Side("candidate", "model", url="http://127.0.0.1:9/v1", model_name="base"),
        ),
        (
            "adapter:narrator-v1",
            Side(
                "candidate",
                "adapter",
                url="http://m:8000/v1",
                model_name="model",
                adapter="narrator-v1",
            ),
        ),
        ("offline", Side("candidate", "offline")),
    ],
)
def test_each_spelling_names_its_target(text: str, expected: Side) -> None:
    side = parse_side(text, role="candidate", runtime_arn=ARN, model_url="http://m:8000/v1")
    assert side == expected
    assert side.offline is (text == "offline")


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("ftp://x", {}, "names no target; expected one of: http(s)://HOST[:PORT], arn:"),
        ("canary", {}, "names no target"),
        ("arn:aws:s3:::bucket", {}, "is not an AgentCore runtime ARN"),
        (ARN, {"qualifier": "bad-name"}, "--qualifier 'bad-name'"),
        ("qualifier:canary", {}, "needs --runtime-arn"),
        ("qualifier:canary", {"runtime_arn": "arn:x"}, "--runtime-arn 'arn:x' is not"),
        ("qualifier:9lives", {"runtime_arn": ARN}, "endpoint name must match"),
        ("qualifier:", {"runtime_arn": ARN}, "endpoint name must match"),
        ("model:base", {}, "needs a model server: model:base@URL or --model-url URL"),
        ("adapter:v1@ftp://m", {}, "model server 'ftp://m' is not an http(s) URL"),
        ("model:", {"model_url": "http://m:8000/v1"}, "model name must match"),
        ("model:a b", {"model_url": "http://m:8000/v1"}, "model name must match"),
    ],
)
def test_refusals_name_the_value_and_what_is_allowed(
    text: str, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(SideError) as caught:
        parse_side(text, role="baseline", **kwargs)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_the_refusal_lists_every_form() -> None:
    with pytest.raises(SideError) as caught:
        parse_side("nonsense", role="candidate")
    assert all(form in str(caught.value) for form in FORMS)
    assert "--candidate 'nonsense'" in str(caught.value)


def test_in_process_sides_build_agents_that_ask_for_their_model(tmp_path: Path) -> None:
    adapter = build_target(
        Side("candidate", "adapter", url="http://127.0.0.1:9/v1", model_name="model",
             adapter="narrator-v1"),
        reports_dir=tmp_path / "c",
    )  # fmt: skip
    base = build_target(
        Side("baseline", "model", url="http://127.0.0.1:9/v1", model_name="model"),
        reports_dir=tmp_path / "b",
    )
    offline = build_target(Side("baseline", "offline"), reports_dir=tmp_path / "o")
    try:
        assert isinstance(adapter, InProcessTarget) and isinstance(base, InProcessTarget)
        assert adapter.model == "openai:model + adapter narrator-v1 at http://127.0.0.1:9/v1"
        assert base.model == "openai:model at http://127.0.0.1:9/v1"
        assert offline.model == "offline"
        assert (tmp_path / "c").is_dir() and (tmp_path / "b").is_dir()
    finally:
        for target in (adapter, base, offline):
            target.close()
    url = build_target(Side("baseline", "url", url="http://127.0.0.1:8080"), reports_dir=tmp_path)
    assert isinstance(url, UrlTarget) and url.url == "http://127.0.0.1:8080"


def test_an_adapter_name_the_agent_refuses_is_a_config_error(tmp_path: Path) -> None:
    # The spec's pattern lets "/" through for base names; MODEL_ADAPTER does not.
    side = parse_side("adapter:org/narrator", role="candidate", model_url="http://m:8000/v1")
    with pytest.raises(ConfigError, match=r"MODEL_ADAPTER='org/narrator' is invalid"):
        build_target(side, reports_dir=tmp_path)


def test_a_runtime_side_invokes_its_qualifier_in_the_runtimes_own_region(tmp_path: Path) -> None:
    from eval.targets import RuntimeArnTarget

    side = parse_side("qualifier:canary", role="candidate", runtime_arn=ARN)
    target = build_target(side, reports_dir=tmp_path)
    assert isinstance(target, RuntimeArnTarget)
    assert (target.arn, target.qualifier) == (ARN, "canary")
    # No --region: the ARN's region, for the runtime and for the S3 reads of its reports.
    assert target.s3_client.meta.region_name == "us-east-1"
    elsewhere = build_target(side, reports_dir=tmp_path, region="eu-west-1")
    assert elsewhere.s3_client.meta.region_name == "eu-west-1"  # type: ignore[attr-defined]
    assert not any(tmp_path.iterdir())  # a deployed side keeps no reports here
