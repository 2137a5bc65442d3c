"""One helper to acknowledge a single cdk-nag finding with its reason.

cdk-nag 3 runs as a CDK validation plugin; an unacknowledged finding fails
synth. Acknowledging goes through this function so every acknowledgment in
the app names exactly one finding id (with its bracketed detail where the
rule has one) and carries a reason a reviewer can check.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, *, finding: str, reason: str) -> None:
    """Acknowledge ``finding`` (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope``.

    Acknowledging on a construct covers its children, so pass the narrowest
    construct that holds the finding.
    """
    if not finding.startswith("AwsSolutions-") or len(reason.strip()) < 20:
        raise ValueError(f"acknowledgment {finding!r} needs an AwsSolutions id and a real reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=finding, reason=reason))
