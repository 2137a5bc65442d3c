"""The judge model's id in a stack: the inference profile of the stack region's geography.

With a concrete region (``CDK_DEFAULT_REGION`` set), the id is a literal such as
``eu.anthropic.claude-sonnet-4-6``. Without one (an environment-agnostic synth)
the region is only known at deploy time, so the geography comes from a
CloudFormation mapping keyed by ``AWS::Region`` (``Fn::FindInMap``); a region
the mapping lacks fails the change set before anything is created, naming the
missing key. The Evaluation stack (the evaluator's ``ModelId``) and the IAM
stack (the role's ``InvokeModel`` resources) resolve it the same way.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, Stack, Token
from constructs import Construct

from stacks.config import EvaluationSettings
from stacks.config.evaluation import AUTO, REGION_GEOGRAPHY

MAPPING_ID = "JudgeGeography"


def judge_geography(scope: Construct, evaluation: EvaluationSettings) -> str | None:
    """The profile prefix for ``scope``'s stack (a token where the region is one)."""
    stack = Stack.of(scope)
    if evaluation.judge_geography != AUTO or not Token.is_unresolved(stack.region):
        return evaluation.geography_for(stack.region)
    mapping = stack.node.try_find_child(MAPPING_ID)
    if not isinstance(mapping, CfnMapping):
        mapping = CfnMapping(
            stack,
            MAPPING_ID,
            mapping={region: {"prefix": geo} for region, geo in REGION_GEOGRAPHY.items()},
        )
    return mapping.find_in_map(Aws.REGION, "prefix")


def judge_model_id(scope: Construct, evaluation: EvaluationSettings) -> str:
    """``<geography>.<model>`` (or the foundation model itself with ``judge_geography=none``)."""
    geography = judge_geography(scope, evaluation)
    return evaluation.judge_model if geography is None else f"{geography}.{evaluation.judge_model}"
