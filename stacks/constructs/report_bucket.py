"""The report bucket and its server-access-log bucket.

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
* **Retained or destroyed** as the caller says: a retained bucket keeps its
  generated name, so it never blocks a redeploy.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.nag import acknowledge

# Logical IDs pinned on purpose: renaming a construct must never replace the bucket.
REPORT_BUCKET_LOGICAL_ID = "ReportBucket"
ACCESS_LOG_BUCKET_LOGICAL_ID = "ReportAccessLogBucket"


class ReportBucket(Construct):
    """The encrypted, TLS-only, versioned report bucket and its access-log bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        report_retention_days: int,
        infrequent_access_after_days: int | None,
        noncurrent_retention_days: int,
        access_log_retention_days: int,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        auto_delete = not retain

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
                    expiration=Duration.days(access_log_retention_days),
                    noncurrent_version_expiration=Duration.days(noncurrent_retention_days),
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
                    transition_after=Duration.days(infrequent_access_after_days),
                )
            ]
            if infrequent_access_after_days is not None
            else None
        )
        noncurrent_transitions = (
            [
                s3.NoncurrentVersionTransition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=Duration.days(30),
                )
            ]
            if noncurrent_retention_days > 30
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
                    expiration=Duration.days(report_retention_days),
                    noncurrent_version_transitions=noncurrent_transitions,
                    noncurrent_version_expiration=Duration.days(noncurrent_retention_days),
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


def _pin_logical_id(bucket: s3.Bucket, logical_id: str) -> None:
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.override_logical_id(logical_id)
