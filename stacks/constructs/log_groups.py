"""Log groups whose names a service dictates, optionally encrypted with a key of their own.

SageMaker writes to ``/aws/sagemaker/Endpoints/<endpoint>`` and
``/aws/sagemaker/InferenceComponents/<component>``; the runtime's
application logs go to a ``/aws/vendedlogs/`` group (see the runtime
stack). Creating them here, rather than letting the service create them on
first write, is what gives them a retention period and a KMS key.

Because the names are fixed, the groups are never retained: a retained
group with a fixed name would make the next deploy fail with "already
exists" after ``cdk destroy`` or after a first create that rolled back.
They are deleted with their stack (export what must be kept first: README,
"Destroy").

The key policy lets the regional CloudWatch Logs service use the key only
for these log groups (``kms:EncryptionContext:aws:logs:arn``), as the
CloudWatch Logs guide to encrypting log data prescribes. Writers of the
logs need no KMS permission: CloudWatch Logs encrypts on their behalf.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

# Days a deleted key stays recoverable; nothing outlives it, the groups go with the stack.
KEY_PENDING_WINDOW_DAYS = 7
LOGS_KEY_ACTIONS = [
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
]


@dataclass(frozen=True, kw_only=True)
class LogGroupSpec:
    """One log group: the name the service writes to and its pinned logical id.

    The logical id is pinned because a changed id replaces the group, and a
    replacement of a fixed-name group fails (the new one is created first).
    """

    name: str
    logical_id: str


class ServiceLogGroups(Construct):
    """Log groups with retention, deleted with the stack, KMS-encrypted when ``encrypt``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        groups: Mapping[str, LogGroupSpec],
        retention: logs.RetentionDays,
        encrypt: bool,
        purpose: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key: kms.Key | None = None
        if encrypt:
            self.key = kms.Key(
                self,
                "Key",
                description=f"Encrypts the log groups of {purpose}",
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.DESTROY,
                pending_window=Duration.days(KEY_PENDING_WINDOW_DAYS),
            )
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowCloudWatchLogsForTheseLogGroups",
                    principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                    actions=LOGS_KEY_ACTIONS,
                    resources=["*"],  # in a key policy "*" means this key
                    conditions={
                        "ArnEquals": {
                            "kms:EncryptionContext:aws:logs:arn": [
                                log_group_arn(stack, spec.name) for spec in groups.values()
                            ]
                        }
                    },
                )
            )
        self.groups: dict[str, logs.LogGroup] = {}
        for construct_name, spec in groups.items():
            group = logs.LogGroup(
                self,
                construct_name,
                log_group_name=spec.name,
                retention=retention,
                encryption_key=self.key,
                removal_policy=RemovalPolicy.DESTROY,
            )
            cfn = group.node.default_child
            assert isinstance(cfn, logs.CfnLogGroup)
            cfn.override_logical_id(spec.logical_id)
            self.groups[construct_name] = group


def log_group_arn(stack: Stack, name: str) -> str:
    """``arn:<partition>:logs:<region>:<account>:log-group:<name>`` (no ``:*`` suffix)."""
    return stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
