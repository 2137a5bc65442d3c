"""The report bucket: encrypted, TLS-only, private, versioned, logged, expiring.

Also the per-stage removal: dev deletes buckets and objects on destroy,
prod retains them (and has no auto-delete custom resource at all).
"""

from __future__ import annotations

from typing import Any

from stacks.bucket_stack import ACCESS_LOG_BUCKET_LOGICAL_ID, REPORT_BUCKET_LOGICAL_ID
from stacks.config import load_stage
from tests.support.cdk_synth import resources

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def _bucket_policy(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    (policy,) = [
        p
        for p in resources(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    return policy["Properties"]["PolicyDocument"]


def test_both_buckets_are_encrypted_private_and_tls_only(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    _, templates = stage_templates
    bucket_template = templates["Bucket"]
    buckets = resources(bucket_template, "AWS::S3::Bucket")
    assert sorted(buckets) == sorted([REPORT_BUCKET_LOGICAL_ID, ACCESS_LOG_BUCKET_LOGICAL_ID])
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
        assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        deny = [
            s
            for s in _bucket_policy(bucket_template, logical_id)["Statement"]
            if s["Effect"] == "Deny"
        ]
        assert len(deny) == 1, deny
        assert deny[0]["Action"] == "s3:*"
        assert deny[0]["Principal"] == {"AWS": "*"}
        assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert {"Fn::GetAtt": [logical_id, "Arn"]} in deny[0]["Resource"]


def test_report_bucket_is_versioned_logged_and_expires_old_versions(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    storage = load_stage(stage).storage
    props = templates["Bucket"]["Resources"][REPORT_BUCKET_LOGICAL_ID]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": ACCESS_LOG_BUCKET_LOGICAL_ID
    }
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    expire = rules["expire-reports"]
    assert expire["ExpirationInDays"] == storage.report_retention_days
    assert expire["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": storage.noncurrent_retention_days
    }
    if storage.infrequent_access_after_days is not None:
        assert expire["Transitions"] == [
            {
                "StorageClass": "STANDARD_IA",
                "TransitionInDays": storage.infrequent_access_after_days,
            }
        ]
        assert expire["NoncurrentVersionTransitions"][0]["StorageClass"] == "STANDARD_IA"
    assert rules["remove-expired-delete-markers"]["ExpiredObjectDeleteMarker"] is True


def test_dev_destroys_with_its_objects_and_prod_retains(
    dev_templates: dict[str, dict[str, Any]], prod_templates: dict[str, dict[str, Any]]
) -> None:
    for logical_id in (REPORT_BUCKET_LOGICAL_ID, ACCESS_LOG_BUCKET_LOGICAL_ID):
        dev = dev_templates["Bucket"]["Resources"][logical_id]
        prod = prod_templates["Bucket"]["Resources"][logical_id]
        assert (dev["DeletionPolicy"], dev["UpdateReplacePolicy"]) == ("Delete", "Delete")
        assert (prod["DeletionPolicy"], prod["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert len(resources(dev_templates["Bucket"], "Custom::S3AutoDeleteObjects")) == 2
    assert not resources(prod_templates["Bucket"], "Custom::S3AutoDeleteObjects")
    assert not resources(prod_templates["Bucket"], "AWS::IAM::Role")
    # Log groups carry service-given fixed names: deleted with the stack in
    # every stage (tests/unit/infra/test_day_two.py checks every resource).
    for templates in (dev_templates, prod_templates):
        for stack in ("Model", "Runtime"):
            groups = resources(templates[stack], "AWS::Logs::LogGroup").values()
            assert groups
            for group in groups:
                assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == (
                    "Delete",
                    "Delete",
                )


def test_log_groups_have_the_stage_retention(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    groups = [
        group
        for stack in ("Model", "Runtime")
        for group in resources(templates[stack], "AWS::Logs::LogGroup").values()
    ]
    assert len(groups) == 4  # endpoint, component, runtime application logs, runtime endpoint
    for group in groups:
        assert group["Properties"]["RetentionInDays"] == load_stage(stage).logs.retention_days
