"""The IAM stack: security properties of the synthesized templates (template side).

* no ``Resource: "*"`` except the actions in ``WILDCARD_RESOURCE_ACTIONS``
  (the one dict holding each reason), and PutMetricData only with a
  namespace condition;
* no ``*FullAccess`` managed policy anywhere;
* the SageMaker and runtime execution roles trust their service only with
  ``aws:SourceAccount`` and ``aws:SourceArn`` (the evaluation, schedule and
  training roles have their own tests beside their constructs and features);
* every role and statement lives in the IAM stack (no IAM policy resources
  elsewhere), scoped to exactly our endpoint, component, bucket and image
  repository.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from stacks.config import load_stage
from stacks.constructs.roles import (
    RUNTIME_METRICS_NAMESPACE,
    SAGEMAKER_INVOKE_ACTIONS,
    SESSION_MEMORY_ACTIONS,
    USER_MEMORY_ACTIONS,
    WILDCARD_RESOURCE_ACTIONS,
)
from tests.support.cdk_synth import flipped_templates, resources, variant_templates

# The one IAM role not defined in the IAM stack: CDK's own auto-delete-objects
# provider in the dev bucket stack (see stacks/bucket_stack.py).
CDK_AUTO_DELETE_ROLE_PREFIX = "CustomS3AutoDeleteObjectsCustomResourceProviderRole"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(templates: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, statement) for every identity-policy statement in every template."""
    for stack, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            inline = props.get("Policies", []) if resource["Type"] == "AWS::IAM::Role" else []
            documents = [p["PolicyDocument"] for p in inline]
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                documents.append(props["PolicyDocument"])
            for document in documents:
                for statement in document["Statement"]:
                    yield f"{stack}/{logical_id}", statement


def _role(templates: dict[str, dict[str, Any]], service: str) -> dict[str, Any]:
    # The online-evaluation and MCP roles share the AgentCore principal; they have their own
    # tests (test_evaluation_stack.py, constructs/roles/test_mcp_roles.py), the execution
    # roles are checked here.
    roles = [
        role
        for logical_id, role in resources(templates["Iam"], "AWS::IAM::Role").items()
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
        == service
        and not logical_id.startswith(("EvaluationExecutionRole", "Mcp"))
    ]
    assert len(roles) == 1, roles
    return roles[0]


def _by_sid(role: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        s["Sid"]: s
        for policy in role["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    }


def _join(value: Any) -> str:
    """Render a Fn::Join ARN as text with ${Ref} placeholders, for comparisons."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_join(p) for p in parts)
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    if "Fn::Sub" in value:
        return str(value["Fn::Sub"])
    if "Fn::ImportValue" in value:
        return "import:" + str(value["Fn::ImportValue"])
    raise AssertionError(f"unexpected intrinsic {value}")


def test_wildcard_resources_only_for_documented_actions(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    _, templates = stage_templates
    seen = set()
    for where, statement in _statements(templates):
        if "*" not in _as_list(statement.get("Resource", [])):
            continue
        actions = _as_list(statement["Action"])
        undocumented = [a for a in actions if a not in WILDCARD_RESOURCE_ACTIONS]
        assert not undocumented, f"{where}: {undocumented} on Resource '*'"
        if "cloudwatch:PutMetricData" in actions:
            assert "cloudwatch:namespace" in str(statement.get("Condition")), where
        seen.update(actions)
    assert "ecr:GetAuthorizationToken" in seen
    for reason in WILDCARD_RESOURCE_ACTIONS.values():
        assert len(reason) > 20


def test_no_action_wildcards_and_no_full_access_managed_policies(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    _, templates = stage_templates
    for where, statement in _statements(templates):
        assert not [a for a in _as_list(statement["Action"]) if a.endswith("*")], where
    for stack, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            arns = resource.get("Properties", {}).get("ManagedPolicyArns", [])
            assert "FullAccess" not in str(arns), f"{stack}/{logical_id}"


def test_trust_policies_carry_source_account_and_source_arn(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    config = load_stage(stage)
    expected = {
        "sagemaker.amazonaws.com": "${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:*",
        "bedrock-agentcore.amazonaws.com": "${AWS::Partition}:bedrock-agentcore:${AWS::Region}:"
        f"${{AWS::AccountId}}:runtime/{config.runtime_name}-*",
    }
    for service, source_arn in expected.items():
        (trust,) = _role(templates, service)["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Action"] == "sts:AssumeRole"
        condition = trust["Condition"]
        assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
        assert _join(condition["ArnLike"]["aws:SourceArn"]) == "arn:" + source_arn
    for stack, template in templates.items():
        for logical_id in resources(template, "AWS::IAM::Role"):
            if logical_id.startswith(CDK_AUTO_DELETE_ROLE_PREFIX):
                assert stage == "dev" and stack == "Bucket"
                continue
            assert stack == "Iam", f"role {logical_id} defined outside the IAM stack"


def test_no_other_stack_adds_statements_to_the_roles(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    _, templates = stage_templates
    for stack, template in templates.items():
        policies = resources(template, "AWS::IAM::Policy")
        assert not policies, f"{stack} adds IAM policies: {sorted(policies)}"


def test_runtime_role_is_scoped_to_our_endpoint_bucket_and_image(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    stage, templates = stage_templates
    config = load_stage(stage)
    statements = _by_sid(_role(templates, "bedrock-agentcore.amazonaws.com"))
    assert set(statements) == {
        "PullAgentImage", "EcrLogin", "RuntimeLogGroups", "RuntimeLogStreams",
        "DescribeLogGroups", "XRay", "PublishRuntimeMetrics", "WorkloadAccessToken",
        "InvokeModel", "WriteReports", "SessionMemory", "UserMemory",
    }  # fmt: skip
    memory = statements["SessionMemory"]
    # exactly the data-plane calls of AgentCoreMemorySaver, on this stage's memory only
    assert memory["Action"] == SESSION_MEMORY_ACTIONS
    assert memory["Action"] == ["bedrock-agentcore:CreateEvent", "bedrock-agentcore:ListEvents"]
    arn = memory["Resource"]
    assert "Fn::ImportValue" in arn and "SessionMemory" in arn["Fn::ImportValue"], arn
    # the user's long-term records: write, list, delete, on the same memory only
    user_memory = statements["UserMemory"]
    assert user_memory["Action"] == USER_MEMORY_ACTIONS
    assert user_memory["Action"] == [
        "bedrock-agentcore:BatchCreateMemoryRecords",
        "bedrock-agentcore:BatchDeleteMemoryRecords",
        "bedrock-agentcore:ListMemoryRecords",
    ]
    assert user_memory["Resource"] == arn
    invoke = statements["InvokeModel"]
    assert invoke["Action"] == SAGEMAKER_INVOKE_ACTIONS
    prefix = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:"
    assert [_join(r) for r in invoke["Resource"]] == [
        f"{prefix}endpoint/{config.endpoint_name.lower()}",
        f"{prefix}inference-component/{config.inference_component_name.lower()}",
    ]
    write = statements["WriteReports"]
    # presigned report links are on by default: GetObject on the report keys, nothing more
    assert sorted(write["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert _join(write["Resource"]).startswith("import:GptOssAgent-")
    assert _join(write["Resource"]).endswith("ReportBucket") is False
    assert "ReportBucketArn" in _join(write["Resource"])
    assert _join(write["Resource"]).endswith("/*")
    assert statements["PublishRuntimeMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": RUNTIME_METRICS_NAMESPACE}
    }
    pull = _join(statements["PullAgentImage"]["Resource"])
    assert pull.endswith(
        ":repository/cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}"
    )
    forbidden = {"s3:DeleteObject", "s3:PutObjectAcl", "ecr:CreateRepository"}
    for statement in statements.values():
        assert not forbidden & set(_as_list(statement["Action"]))


def test_presigned_links_add_get_object_on_the_same_bucket() -> None:
    templates = variant_templates()
    write = _by_sid(_role(templates, "bedrock-agentcore.amazonaws.com"))["WriteReports"]
    assert sorted(write["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert "ReportBucketArn" in _join(write["Resource"])
    # without links the runtime role cannot read reports back
    off = _by_sid(_role(flipped_templates("dev"), "bedrock-agentcore.amazonaws.com"))
    assert _as_list(off["WriteReports"]["Action"]) == ["s3:PutObject"]


@pytest.mark.parametrize("service", ["sagemaker.amazonaws.com", "bedrock-agentcore.amazonaws.com"])
def test_roles_have_no_managed_policies(
    dev_templates: dict[str, dict[str, Any]], service: str
) -> None:
    role = _role(dev_templates, service)
    assert "ManagedPolicyArns" not in role["Properties"]
    assert [p["PolicyName"] for p in role["Properties"]["Policies"]] in (
        ["sagemaker-hosting"],
        ["agentcore-runtime"],
    )
