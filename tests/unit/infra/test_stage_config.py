"""Stage configuration: defaults, overrides from CDK context, and bad values.

Bad values must fail before synth with one message naming the key, the
value and what is allowed (pure Python: no CDK app is built here).
"""

from __future__ import annotations

import re

import pytest

from stacks.config import (
    AGENTCORE_NAME_PATTERN,
    AGENTCORE_REQUEST_TIMEOUT_SECONDS,
    ConfigError,
    JwtSettings,
    StageConfig,
    load_stage,
)


def test_dev_and_prod_defaults_differ_where_the_issue_says() -> None:
    dev, prod = load_stage("dev"), load_stage("prod")
    for config in (dev, prod):
        assert config.endpoint.instance_type == "ml.g6e.4xlarge"
        assert config.model.model_id == "openai/gpt-oss-20b"
        assert config.endpoint.accelerators_per_copy == 1
        assert config.endpoint.startup_health_check_timeout_seconds >= 600
        assert AGENTCORE_NAME_PATTERN.fullmatch(config.runtime_name)
        assert config.runtime.request_deadline_seconds < AGENTCORE_REQUEST_TIMEOUT_SECONDS
        assert config.tag_map == {
            "project": config.tags.project,
            "stage": config.stage,
            "cost-center": config.tags.cost_center,
        }
    assert (dev.retain_data, prod.retain_data) == (False, True)
    assert prod.storage.report_retention_days > dev.storage.report_retention_days
    assert prod.logs.retention_days > dev.logs.retention_days
    assert dev.endpoint_name != prod.endpoint_name
    assert dev.runtime_name != prod.runtime_name


@pytest.mark.parametrize(
    ("stage", "overrides", "key", "value", "allowed"),
    [
        ("qa", {}, "stage", "qa", "dev | prod"),
        ("dev", {"endpoint.instance_type": "ml.m5.xlarge"}, "endpoint.instance_type",
         "ml.m5.xlarge", "NVIDIA GPU instance type"),
        ("dev", {"endpoint.instance_type": "ml.inf2.xlarge"}, "endpoint.instance_type",
         "ml.inf2.xlarge", "ml.g6e.4xlarge"),
        ("dev", {"endpoint.copy_count": "-1"}, "endpoint.copy_count", -1, "integer >= 1"),
        ("prod", {"endpoint.max_instance_count": -2}, "endpoint.max_instance_count", -2,
         "integer >= 1"),
        ("dev", {"endpoint.min_instance_count": "-1"}, "endpoint.min_instance_count", -1,
         "integer >= 0"),
        ("dev", {"endpoint.copy_count": 2}, "endpoint.copy_count", 2, "at most 1 copies"),
        ("dev", {"runtime.name": "gptoss-agent-dev"}, "runtime.name", "gptoss-agent-dev",
         "[a-zA-Z][a-zA-Z0-9_]{0,47}"),
        ("dev", {"runtime.name": "9lives"}, "runtime.name", "9lives", "no hyphens"),
        ("dev", {"runtime.name": "a" * 49}, "runtime.name", "a" * 49, "{0,47}"),
        ("dev", {"runtime.endpoint_name": "DEFAULT"}, "runtime.endpoint_name", "DEFAULT",
         "not DEFAULT"),
        ("dev", {"endpoint.startup_health_check_timeout_seconds": 300},
         "endpoint.startup_health_check_timeout_seconds", 300, ">= 600"),
        ("dev", {"runtime.request_deadline_seconds": 900}, "runtime.request_deadline_seconds",
         900, "<= 870"),
        ("dev", {"model.network_isolation": "true"}, "model.network_isolation", True,
         "weights_s3_uri"),
        ("dev", {"model.weights_s3_uri": "https://example.com/w"}, "model.weights_s3_uri",
         "https://example.com/w", "s3://<bucket>/<prefix>/"),
        ("dev", {"logs.retention_days": 10}, "logs.retention_days", 10, "one of 1, 3, 5"),
        ("dev", {"storage.infrequent_access_after_days": 10},
         "storage.infrequent_access_after_days", 10, ">= 30"),
        ("dev", {"runtime.log_level": "LOUD"}, "runtime.log_level", "LOUD", "DEBUG | INFO"),
        ("dev", {"endpoint.copy_count": "two"}, "endpoint.copy_count", "two", "type int"),
        ("dev", {"endpoint.nonsense": 1}, "endpoint.nonsense", 1, "a field of endpoint"),
        ("dev", {"gpu": 1}, "gpu", 1, "<section>.<field>"),
    ],
)  # fmt: skip
def test_bad_value_names_key_value_and_what_is_allowed(
    stage: str, overrides: dict[str, object], key: str, value: object, allowed: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_stage(stage, overrides)
    message = str(caught.value)
    assert message.startswith(f"{key}={value!r} is invalid: expected "), message
    assert allowed in message, message


def test_context_strings_are_converted_to_the_field_types() -> None:
    config = load_stage(
        "prod",
        {
            "endpoint.max_instance_count": "4",
            "model.gpu_memory_utilization": "0.85",
            "model.weights_s3_uri": "s3://my-weights/gpt-oss-20b/",
            "model.network_isolation": "true",
            "model.container_log_level": "20",
            "storage.presigned_links": "yes",
        },
    )
    assert config.endpoint.max_instance_count == 4
    assert config.model.gpu_memory_utilization == 0.85
    assert config.model.network_isolation is True
    assert config.model.container_log_level == 20
    assert config.storage.presigned_links is True
    assert (config.model.weights_bucket, config.model.weights_prefix) == (
        "my-weights",
        "gpt-oss-20b/",
    )


def test_jwt_authorizer_settings_are_validated() -> None:
    good = JwtSettings(
        discovery_url="https://idp.example.com/.well-known/openid-configuration",
        allowed_clients=("client-1",),
    )
    assert load_stage("dev", {"runtime.jwt": good}).runtime.jwt == good
    with pytest.raises(ConfigError, match=re.escape("runtime.jwt.discovery_url='http://idp'")):
        load_stage("dev", {"runtime.jwt": {"discovery_url": "http://idp"}})
    with pytest.raises(ConfigError, match="at least one allowed client or audience"):
        load_stage(
            "dev",
            {"runtime.jwt": {"discovery_url": good.discovery_url}},
        )


def test_config_is_validated_even_when_built_directly() -> None:
    with pytest.raises(ConfigError, match="stage='test'"):
        StageConfig(stage="test", retain_data=False)
