"""IAM's Allow match over synthesized statements, with the template's intrinsics filled in.

No account is at hand to ask IAM, so this applies its rule for an identity
policy's Allow: the action is listed and the resource ARN matches one of the
statement's resource patterns (``*`` and ``?`` wildcards). Pseudo-parameters,
imports and attributes are filled in from ``refs`` first.
"""

from __future__ import annotations

import fnmatch
from typing import Any

# Values for the pseudo-parameters of a synthesized template.
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"}


def render(value: Any, refs: dict[str, str]) -> str:
    """A template value with pseudo-parameters, imports and attributes filled in."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return refs[value["Ref"]]
    if "Fn::ImportValue" in value:
        return refs[value["Fn::ImportValue"]]
    if "Fn::GetAtt" in value:
        return refs[".".join(value["Fn::GetAtt"])]
    if "Fn::Select" in value:
        index, items = value["Fn::Select"]
        return render(items, refs).split("\0")[index]
    if "Fn::Split" in value:
        sep, text = value["Fn::Split"]
        return "\0".join(render(text, refs).split(sep))
    sep, parts = value["Fn::Join"]
    return str(sep).join(render(p, refs) for p in parts)


def allows(
    statements: list[dict[str, Any]], action: str, arn: str, refs: dict[str, str] = PSEUDO
) -> bool:
    """IAM's Allow match: the action listed and the ARN inside one of the resource patterns."""
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [
            statement["Action"]]  # fmt: skip
        patterns = statement["Resource"] if isinstance(statement["Resource"], list) else [
            statement["Resource"]]  # fmt: skip
        if action in actions and any(fnmatch.fnmatchcase(arn, render(p, refs)) for p in patterns):
            return True
    return False
