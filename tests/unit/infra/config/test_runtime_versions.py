"""``runtime.live_version``, ``runtime.canary*``, the canary's sampling: each limit at its edge."""

from __future__ import annotations

import re

import pytest

from stacks.config import ConfigError, load_stage


def test_defaults_follow_the_latest_version_without_a_canary() -> None:
    for stage in ("dev", "prod"):
        runtime = load_stage(stage).runtime
        assert runtime.live_version is None and runtime.canary is False
        assert runtime.canary_version is None and runtime.canary_endpoint_name == "canary"
        assert runtime.endpoint_names == ("live",)
        assert load_stage(stage).evaluation.canary_sampling_percentage == 100.0


@pytest.mark.parametrize("version", ["1", "99999"])
def test_versions_at_the_apis_bounds_are_accepted(version: str) -> None:
    config = load_stage(
        "prod",
        {"runtime.live_version": version, "runtime.canary": "true",
         "runtime.canary_version": version},
    )  # fmt: skip
    assert config.runtime.live_version == config.runtime.canary_version == int(version)
    assert config.runtime.endpoint_names == ("live", "canary")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"runtime.live_version": "0"},
         "runtime.live_version=0 is invalid: expected an integer >= 1 and <= 99999"),
        ({"runtime.live_version": "100000"},
         "runtime.live_version=100000 is invalid: expected an integer >= 1 and <= 99999"),
        ({"runtime.live_version": "v2"},
         "runtime.live_version='v2' is invalid: expected a value of type int | None"),
        ({"runtime.canary": "true", "runtime.live_version": "3", "runtime.canary_version": "0"},
         "runtime.canary_version=0 is invalid: expected an integer >= 1 and <= 99999"),
        ({"runtime.canary_version": "3"},
         "runtime.canary_version=3 is invalid: expected unset while runtime.canary is false"),
        ({"runtime.canary": "true"},
         "runtime.canary=True is invalid: expected false, or runtime.live_version (or "
         "runtime.canary_version) set: with neither, both endpoints follow the latest version"),
        ({"runtime.canary": "sometimes"},
         "runtime.canary='sometimes' is invalid: expected a value of type bool"),
        ({"runtime.canary": "true", "runtime.live_version": "3",
          "runtime.canary_endpoint_name": "live"},
         "runtime.canary_endpoint_name='live' is invalid: expected a name matching "
         "[a-zA-Z][a-zA-Z0-9_]{0,47}, not DEFAULT and not runtime.endpoint_name (live)"),
        ({"runtime.canary_endpoint_name": "DEFAULT"}, "runtime.canary_endpoint_name='DEFAULT'"),
        ({"runtime.canary_endpoint_name": "canary-1"}, "runtime.canary_endpoint_name='canary-1'"),
        ({"runtime.canary_endpoint_name": "c" * 49}, "runtime.canary_endpoint_name='ccc"),
        ({"evaluation.canary_sampling_percentage": "0.0099"},
         "evaluation.canary_sampling_percentage=0.0099 is invalid: expected a percentage in "
         "[0.01, 100.0]"),
        ({"evaluation.canary_sampling_percentage": "100.01"},
         "evaluation.canary_sampling_percentage=100.01 is invalid"),
    ],
)  # fmt: skip
def test_bad_versions_and_names_say_what_is_allowed(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_stage("dev", overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {"runtime.canary": "true", "runtime.live_version": "3"},  # canary on the latest
        {"runtime.canary": "true", "runtime.canary_version": "5"},  # live on the latest
        {"runtime.live_version": "3"},  # a pin without a canary: a rollback
        {"runtime.canary": "true", "runtime.live_version": "3",
         "runtime.canary_endpoint_name": "c" * 48},
        {"evaluation.canary_sampling_percentage": "0.01"},
        {"evaluation.canary_sampling_percentage": "100"},
    ],
)  # fmt: skip
def test_each_way_of_running_a_canary_is_accepted(overrides: dict[str, str]) -> None:
    load_stage("prod", overrides)
