"""What every role of the app shares: ARN builders, the wildcard rule, nag acknowledgments.

* ``Resource: "*"`` appears only for the actions in
  :data:`WILDCARD_RESOURCE_ACTIONS`, each with its reason; the tests read that
  dict and fail on any other wildcard.
* Every other wildcard is a suffix under one exact parent (a log group's
  streams, a runtime's id, a bucket's prefix): :func:`acknowledge_wildcards`
  acknowledges each such cdk-nag finding by its exact id, with that reason.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from stacks.nag import acknowledge

# The only actions allowed on Resource "*": AWS documents no resource-level
# permissions for them (Service Authorization Reference). Single source of
# truth for the roles, the nag acknowledgments and the tests.
WILDCARD_RESOURCE_ACTIONS: dict[str, str] = {
    "ecr:GetAuthorizationToken": "returns a registry login token; it has no resource type, "
    "the pull itself is scoped to the repository",
    "xray:PutTraceSegments": "X-Ray trace ingestion has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray telemetry ingestion has no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray sampling rules have no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray sampling targets have no resource-level permissions",
    "cloudwatch:PutMetricData": "metrics have no ARN; the statement is limited by the "
    "cloudwatch:namespace condition instead",
}

ECR_PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


def arn(
    stack: Stack,
    service: str,
    resource: str,
    name: str | None = None,
    *,
    separator: ArnFormat = ArnFormat.SLASH_RESOURCE_NAME,
) -> str:
    """``arn:<partition>:<service>:<region>:<account>:<resource><separator><name>``."""
    return stack.format_arn(
        service=service,
        resource=resource,
        resource_name=name,
        arn_format=separator if name is not None else ArnFormat.NO_RESOURCE_NAME,
    )


def s3_arn(stack: Stack, bucket: str, key_pattern: str | None = None) -> str:
    """An S3 bucket (or object-pattern) ARN: S3 ARNs carry no region and no account."""
    return stack.format_arn(
        service="s3",
        region="",
        account="",
        resource=bucket,
        resource_name=key_pattern,
        arn_format=(
            ArnFormat.SLASH_RESOURCE_NAME if key_pattern is not None else ArnFormat.NO_RESOURCE_NAME
        ),
    )


def log_group_arn(stack: Stack, name: str) -> str:
    """``arn:<partition>:logs:<region>:<account>:log-group:<name>``."""
    return arn(stack, "logs", "log-group", name, separator=ArnFormat.COLON_RESOURCE_NAME)


def wildcard_statement(sid: str, actions: list[str], **kwargs: Any) -> iam.PolicyStatement:
    """A statement on Resource "*", refused for any action not in the wildcard dict."""
    unknown = [a for a in actions if a not in WILDCARD_RESOURCE_ACTIONS]
    if unknown:
        raise ValueError(f"{unknown} may not use Resource '*': not in WILDCARD_RESOURCE_ACTIONS")
    return iam.PolicyStatement(sid=sid, actions=actions, resources=["*"], **kwargs)


def log_statements(
    stack: Stack, sid_prefix: str, log_group_names: list[str]
) -> list[iam.PolicyStatement]:
    """Create and describe the groups, write to their streams."""
    groups = [log_group_arn(stack, name) for name in log_group_names]
    return [
        iam.PolicyStatement(
            sid=f"{sid_prefix}LogGroups",
            actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
            resources=groups,
        ),
        iam.PolicyStatement(
            sid=f"{sid_prefix}LogStreams",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[f"{group}:log-stream:*" for group in groups],
        ),
    ]


def imported(scope: IConstruct, value: str, *, owner: IConstruct) -> str:
    """``value`` as an explicit ``Fn::ImportValue`` when ``owner`` is another stack.

    The export is the one CDK would create implicitly; making it explicit lets
    the nag acknowledgment name the finding exactly at construction time.
    """
    owner_stack = Stack.of(owner)
    return value if owner_stack is Stack.of(scope) else owner_stack.export_value(value)


def acknowledge_wildcards(role: iam.Role, statements: list[iam.PolicyStatement]) -> None:
    """Acknowledge AwsSolutions-IAM5 once per wildcard action/resource, with its reason."""
    stack = Stack.of(role)
    wildcard_actions: list[str] = []
    for statement in statements:
        resolved = stack.resolve(statement.to_statement_json())
        resources = resolved.get("Resource", [])
        for resource in resources if isinstance(resources, list) else [resources]:
            if resource == "*":
                wildcard_actions += statement.actions
            elif "*" in str(resource):
                acknowledge(
                    role,
                    finding=f"AwsSolutions-IAM5[Resource::{nag_arn(resource)}]",
                    reason=f"statement {statement.sid}: a name prefix or all streams/objects "
                    "under one exact parent (log group, runtime id, bucket, weights prefix), "
                    "because the suffix is only known at run time",
                )
    if wildcard_actions:
        acknowledge(
            role,
            finding="AwsSolutions-IAM5[Resource::*]",
            reason="; ".join(f"{a}: {WILDCARD_RESOURCE_ACTIONS[a]}" for a in wildcard_actions),
        )


def nag_arn(resolved: Any) -> str:
    """Render a resolved ARN the way cdk-nag prints it in finding ids."""
    if isinstance(resolved, str):
        return resolved
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        sep, parts = resolved["Fn::Join"]
        return sep.join(nag_arn(p) for p in parts)
    if isinstance(resolved, dict) and "Fn::ImportValue" in resolved:
        return str(resolved["Fn::ImportValue"])
    if isinstance(resolved, dict) and "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
        return "<{}.{}>".format(*resolved["Fn::GetAtt"])
    raise ValueError(f"cannot render {resolved!r} as a cdk-nag finding id")
