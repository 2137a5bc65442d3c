"""ARN patterns for ``aws:SourceArn`` conditions (confused-deputy protection)."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack


def all_of_kind(stack: Stack, *, service: str, resource: str) -> str:
    """ARN pattern of every ``resource`` of ``service`` in the stack's account and region
    (``arn:...:<service>:<region>:<account>:<resource>:*``), for ``aws:SourceArn`` conditions."""
    return stack.format_arn(
        service=service,
        resource=resource,
        resource_name="*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
