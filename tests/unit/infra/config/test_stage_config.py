"""Stage configuration: defaults, overrides from CDK context, and bad values.

Bad values must fail before synth with one message naming the key, the
value and what is allowed (pure Python: no CDK app is built here).
"""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass

import pytest

from stacks.config import (
    AGENTCORE_NAME_PATTERN,
    AGENTCORE_REQUEST_TIMEOUT_SECONDS,
    INFERENCE_AMI_VERSIONS,
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
        ("dev", {"endpoint.copy_count": 2}, "endpoint.copy_count", 2, "integer >= 1 and <= 1"),
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
        ("dev", {"storage.presigned_link_seconds": "59"}, "storage.presigned_link_seconds", 59,
         ">= 60 and <= 3600"),
        ("dev", {"storage.presigned_link_seconds": "3601"}, "storage.presigned_link_seconds",
         3601, ">= 60 and <= 3600"),
        # one way to say "no links": presigned_link_seconds=none (no switch beside it)
        ("dev", {"storage.presigned_links": "false"}, "storage.presigned_links", "false",
         "a field of storage"),
        ("dev", {"endpoint.inference_ami_version": "al2-ami-sagemaker-inference-gpu-9"},
         "endpoint.inference_ami_version", "al2-ami-sagemaker-inference-gpu-9",
         "al2023-ami-sagemaker-inference-gpu-4-1"),
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
            "storage.presigned_link_seconds": "60",
        },
    )
    assert config.endpoint.max_instance_count == 4
    assert config.model.gpu_memory_utilization == 0.85
    assert config.model.network_isolation is True
    assert config.model.container_log_level == 20
    assert config.storage.presigned_link_seconds == 60
    for off in ("none", "None", ""):
        assert (
            load_stage(
                "dev", {"storage.presigned_link_seconds": off}
            ).storage.presigned_link_seconds
            is None
        )
    assert (
        load_stage("dev", {"storage.presigned_link_seconds": "3600"}).storage.presigned_link_seconds
        == 3600
    )
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


def test_inference_ami_versions_are_ones_the_sagemaker_api_accepts() -> None:
    """Our allowed list must stay inside the API's enum, or deploy fails late."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    api_enum = set(model.shape_for("ProductionVariantInferenceAmiVersion").enum)
    assert set(INFERENCE_AMI_VERSIONS) <= api_enum
    assert load_stage("dev").endpoint.inference_ami_version in api_enum


def test_nested_operations_keys_can_be_overridden_from_context() -> None:
    """Ops set the alarm e-mail and turn scale-to-zero off without editing code."""
    config = load_stage(
        "dev",
        {
            "operations.alarms.email": "ops@example.com",
            "operations.alarms.model_latency_p90_seconds": "45",
            # These three only make sense together: applied at once, not one by one.
            "operations.autoscaling.scale_to_zero": "false",
            "operations.autoscaling.min_copy_count": "1",
            "endpoint.min_instance_count": "1",
        },
    )
    assert config.operations.alarms.email == "ops@example.com"
    assert config.operations.alarms.model_latency_p90_seconds == 45.0
    assert config.operations.autoscaling.scale_to_zero is False
    assert config.operations.autoscaling.min_copy_count == 1
    assert config.endpoint.min_instance_count == 1
    # Untouched values keep the stage defaults.
    assert config.operations.autoscaling.max_copy_count == 1
    assert config.operations.tracing is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"operations.alarms.email": "not-an-address"},
         "operations.alarms.email='not-an-address'"),
        ({"operations.autoscaling.scale_to_zero": "false"},
         "operations.autoscaling.min_copy_count=0"),
        ({"operations.alarms.pager": "x"}, "a field of operations.alarms: email"),
        ({"operations.alarms": "x"}, "a key operations.alarms.<field>"),
        ({"operations.tracing.enabled": "x"}, "tracing has no fields"),
        ({"stage": "prod"}, "a key <section>.<field>"),
    ],
)  # fmt: skip
def test_bad_nested_override_names_the_full_key(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_stage("dev", overrides)
    assert message in str(caught.value)


def _context_text(value: object) -> str:
    """A field's value written the way ``-c key=value`` gives it."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return "none" if value is None else str(value)


def _leaf_keys(node: object, prefix: str = "") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for item in fields(node):  # type: ignore[arg-type]
        value = getattr(node, item.name)
        if is_dataclass(value) and not isinstance(value, JwtSettings):
            found += _leaf_keys(value, f"{prefix}{item.name}.")
        elif prefix and item.name != "jwt":
            found.append((f"{prefix}{item.name}", value))
    return found


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_field_of_every_section_can_be_set_from_context(stage: str) -> None:
    """``-c config.<section>.<field>=<its own value>`` round-trips for every leaf key."""
    keys = _leaf_keys(load_stage(stage))
    sections = {key.rsplit(".", 1)[0] for key, _ in keys}
    assert sections == {
        "model", "endpoint", "runtime", "storage", "logs", "tags", "operations",
        "operations.autoscaling", "operations.alarms", "schedule", "training", "memory",
        "evaluation", "mcp",
    }  # fmt: skip
    for key, value in keys:
        assert load_stage(stage, {key: _context_text(value)}) == load_stage(stage), key
