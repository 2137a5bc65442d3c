"""The ``evaluation`` section: per-stage sampling, the L2's limits, overrides from context."""

from __future__ import annotations

import pytest

from stacks.config import ConfigError, load_stage


def test_prod_samples_less_than_dev() -> None:
    """Every evaluated prod trace costs judge tokens; dev needs signal quickly."""
    assert load_stage("dev").evaluation.sampling_percentage == 50
    assert load_stage("prod").evaluation.sampling_percentage == 5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"evaluation.sampling_percentage": "0.0099"},
         "evaluation.sampling_percentage=0.0099 is invalid: expected a percentage in [0.01, 100"),
        ({"evaluation.sampling_percentage": "100.01"},
         "evaluation.sampling_percentage=100.01 is invalid: expected a percentage in [0.01, 100"),
        ({"evaluation.session_timeout_minutes": "0"},
         "evaluation.session_timeout_minutes=0 is invalid: expected an integer >= 1 and <= 1440"),
        ({"evaluation.session_timeout_minutes": "1441"},
         "evaluation.session_timeout_minutes=1441 is invalid: expected an integer >= 1"),
        ({"evaluation.judge_model": "claude"},
         "evaluation.judge_model='claude' is invalid: expected a Bedrock foundation model id"),
        ({"evaluation.judge_model": "us.anthropic.claude-sonnet-4-6"},
         "evaluation.judge_model='us.anthropic.claude-sonnet-4-6' is invalid: expected a "
         "Bedrock foundation model id such as anthropic.claude-sonnet-4-6 (no geography"),
        ({"evaluation.judge_geography": "mars"},
         "evaluation.judge_geography='mars' is invalid: expected auto | none | us | us-gov | "
         "eu | apac | jp | au | global"),
        ({"evaluation.enabled": "maybe"},
         "evaluation.enabled='maybe' is invalid: expected a value of type bool"),
        ({"evaluation.sampling": "5"},
         "evaluation.sampling='5' is invalid: expected a field of evaluation: sampling_percentage"),
    ],
)  # fmt: skip
def test_bad_evaluation_settings_name_key_value_and_what_is_allowed(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_stage("prod", overrides)
    assert str(caught.value).startswith(message), caught.value


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("sampling_percentage", "0.01", 0.01),
        ("sampling_percentage", "100", 100.0),
        ("session_timeout_minutes", "1", 1),
        ("session_timeout_minutes", "1440", 1440),
        ("enabled", "false", False),
        ("judge_geography", "global", "global"),
        ("judge_geography", "none", "none"),
        ("judge_model", "anthropic.claude-x-v1:0", "anthropic.claude-x-v1:0"),
    ],
)
def test_the_edges_are_accepted_from_context(key: str, value: str, expected: object) -> None:
    evaluation = load_stage("prod", {f"evaluation.{key}": value}).evaluation
    assert getattr(evaluation, key) == expected
