"""Report bucket: where the agent writes the PDF reports.

Security choices (the why; ``docs/infrastructure.md`` repeats them):

* **SSE-S3 (S3-managed keys), not KMS.** Reports are derived, non-secret
  analysis documents. A customer-managed KMS key would add a key policy,
  ``kms:GenerateDataKey``/``kms:Decrypt`` on the runtime role, per-request
  KMS cost and a key that outlives ``cdk destroy`` (7-30 day deletion
  window) without protecting against a threat SSE-S3 leaves open: access is
  already limited by IAM to one role and one action. The access-log bucket
  must use SSE-S3 anyway (S3 server access logging cannot write to SSE-KMS
  targets).
* **TLS only** (``enforce_ssl``: a Deny on ``aws:SecureTransport=false``),
  **all public access blocked**, **bucket-owner-enforced** object ownership
  (ACLs disabled, so ``PutObjectAcl`` grants are meaningless).
* **Versioned** so an overwritten or deleted report can be recovered;
  noncurrent versions expire so versioning does not grow without bound.
* **Server access logs** to a separate log bucket (same protections, also
  versioned; it does not log its own access: that would loop).
* **Removal per stage**: dev destroys both buckets (auto-deleting the
  objects); prod retains them, so ``cdk destroy`` never loses reports.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.common import removal_policy
from stacks.config import StageConfig
from stacks.nag import acknowledge

# Logical IDs pinned on purpose: renaming a construct must never replace the bucket.
REPORT_BUCKET_LOGICAL_ID = "ReportBucket"
ACCESS_LOG_BUCKET_LOGICAL_ID = "ReportAccessLogBucket"


class BucketStack(Stack):
    """The encrypted, TLS-only, versioned report bucket and its access-log bucket."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        storage = config.storage
        removal = removal_policy(config)
        auto_delete = not config.retain_data

        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Versioned so a deleted or overwritten log object stays recoverable
            # for the noncurrent retention (an audit trail that can be erased is none).
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(storage.access_log_retention_days),
                    noncurrent_version_expiration=Duration.days(storage.noncurrent_retention_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="remove-expired-delete-markers",
                    expired_object_delete_marker=True,
                ),
            ],
            removal_policy=removal,
            auto_delete_objects=auto_delete,
        )
        _pin_logical_id(self.access_log_bucket, ACCESS_LOG_BUCKET_LOGICAL_ID)
        acknowledge(
            self.access_log_bucket,
            finding="AwsSolutions-S1",
            reason="This is the server-access-log target bucket; logging it to itself would "
            "loop and logging it elsewhere only moves the problem.",
        )

        transitions = (
            [
                s3.Transition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=Duration.days(storage.infrequent_access_after_days),
                )
            ]
            if storage.infrequent_access_after_days is not None
            else None
        )
        noncurrent_transitions = (
            [
                s3.NoncurrentVersionTransition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=Duration.days(30),
                )
            ]
            if storage.noncurrent_retention_days > 30
            else None
        )
        self.bucket = s3.Bucket(
            self,
            "Reports",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="reports/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-reports",
                    transitions=transitions,
                    expiration=Duration.days(storage.report_retention_days),
                    noncurrent_version_transitions=noncurrent_transitions,
                    noncurrent_version_expiration=Duration.days(storage.noncurrent_retention_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="remove-expired-delete-markers",
                    expired_object_delete_marker=True,
                ),
            ],
            removal_policy=removal,
            auto_delete_objects=auto_delete,
        )
        _pin_logical_id(self.bucket, REPORT_BUCKET_LOGICAL_ID)
        if auto_delete:
            _acknowledge_auto_delete_provider(self)

        CfnOutput(self, "ReportBucketName", value=self.bucket.bucket_name)


def _pin_logical_id(bucket: s3.Bucket, logical_id: str) -> None:
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.override_logical_id(logical_id)


def _acknowledge_auto_delete_provider(stack: Stack) -> None:
    """dev only: CDK's auto-delete-objects Lambda (a CDK-owned singleton provider).

    Its role and function are generated by CDK with the bucket-scoped
    statements it needs to empty the bucket on ``cdk destroy``; it is the one
    IAM role not defined in the IAM stack, and only exists in dev.
    """
    provider = stack.node.try_find_child("Custom::S3AutoDeleteObjectsCustomResourceProvider")
    if provider is None:
        return
    acknowledge(
        provider,
        finding="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        reason="CDK's auto-delete-objects provider (dev only) logs through the AWS basic "
        "Lambda execution policy; CDK owns this singleton and it grants only log writes.",
    )
    acknowledge(
        provider,
        finding="AwsSolutions-L1",
        reason="CDK pins the runtime of its auto-delete-objects provider (dev only); it is "
        "upgraded with aws-cdk-lib, not by this app.",
    )
