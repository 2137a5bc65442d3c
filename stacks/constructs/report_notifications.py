"""The SNS topic the agent publishes one message to per notifying run.

A topic of its own rather than the alarm topic: the alarm topic lives in the
Monitoring stack, which is deployed after the runtime, and the runtime's
role and environment need this topic's ARN first. Its name is fixed (the
IAM stack writes the exact ARN into ``sns:Publish``), so it is never
retained; it holds no data.

Encrypted with the AWS-managed ``alias/aws/sns`` key: its key policy lets
any principal of the account that may publish use it through SNS, so the
runtime role needs no KMS statement. Subscribers (e-mail, chat) are
attached by the operator; the topic denies non-TLS publishing.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

AWS_MANAGED_SNS_KEY = "alias/aws/sns"


class ReportNotifications(Construct):
    """A TLS-only, encrypted topic for per-run report notifications."""

    def __init__(self, scope: Construct, construct_id: str, *, topic_name: str) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topic_name,
            display_name="stock-agent report notifications",
            master_key=kms.Alias.from_alias_name(self, "SnsKey", AWS_MANAGED_SNS_KEY),
            enforce_ssl=True,
        )
        self.topic.apply_removal_policy(RemovalPolicy.DESTROY)
