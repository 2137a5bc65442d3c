"""What CloudFormation would replace when one synthesized app is deployed over another.

Reads each resource type's create-only properties from the CloudFormation
registry schemas that cfn-lint bundles (the same schemas CloudFormation's
resource handlers publish), and follows references: a property that refers to
a replaced resource (``Ref``/``Fn::GetAtt``), to an export whose value changes
(``Fn::ImportValue``) or to an SSM parameter whose value changes (a template
parameter of type ``AWS::SSM::Parameter::Value<...>``) changes too at deploy
time. Pure functions over template dicts; the day-two tests use them to show
that a change deploys:

* :func:`name_collisions`: a resource created (replaced, or new) under a
  literal physical name the deployed app's resource of that type still holds.
  CloudFormation creates the new resource before it deletes the old one, so
  such a deploy fails ("already exists").
* :func:`exports_in_use_changed`: an export whose value changes (or which
  disappears) while a deployed stack imports it. CloudFormation refuses to
  update an export in use, so the producing stack's update fails.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import cfnlint

Templates = Mapping[str, dict[str, Any]]  # stack name -> template
_SCHEMAS = os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas")


@functools.cache
def create_only_paths(resource_type: str) -> tuple[tuple[str, ...], ...]:
    """The create-only property paths of ``resource_type`` (``("Foo", "*", "Bar")``).

    Custom resources have no schema: CloudFormation sends their changes to the provider.
    """
    if resource_type.startswith("Custom::"):
        return ()
    with open(os.path.join(_SCHEMAS, "providers", "us-east-1.json")) as index_file:
        index = json.load(index_file)
    with open(os.path.join(_SCHEMAS, "resources", f"{index[resource_type]}.json")) as schema:
        pointers = json.load(schema).get("createOnlyProperties", [])
    return tuple(tuple(p.removeprefix("/properties/").split("/")) for p in pointers)


def _values_at(node: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield node
        return
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(node, list):
        for item in node:
            yield from _values_at(item, rest)
    elif isinstance(node, dict) and head in node:
        yield from _values_at(node[head], rest)


@dataclass(frozen=True)
class _Changes:
    """What changes at deploy time, across all stacks of the app."""

    replaced: frozenset[tuple[str, str]]  # (stack, logical id)
    exports: frozenset[str]  # export names whose value changes or which disappear
    ssm_parameters: frozenset[str]  # SSM parameter names whose value changes


def _refs_changed(value: Any, stack: str, template: dict[str, Any], changes: _Changes) -> bool:
    """Whether ``value`` refers to anything in ``changes``."""
    if isinstance(value, list):
        return any(_refs_changed(v, stack, template, changes) for v in value)
    if not isinstance(value, dict):
        return False
    if "Ref" in value and isinstance(value["Ref"], str):
        target = value["Ref"]
        parameter = template.get("Parameters", {}).get(target)
        if parameter is not None:
            return str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value") and (
                parameter.get("Default") in changes.ssm_parameters
            )
        return (stack, target) in changes.replaced
    if "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        name = target[0] if isinstance(target, list) else str(target).split(".")[0]
        return (stack, name) in changes.replaced
    if "Fn::ImportValue" in value and isinstance(value["Fn::ImportValue"], str):
        return value["Fn::ImportValue"] in changes.exports
    return any(_refs_changed(v, stack, template, changes) for v in value.values())


def _differs(old: Any, new: Any, stack: str, template: dict[str, Any], changes: _Changes) -> bool:
    return json.dumps(old, sort_keys=True) != json.dumps(new, sort_keys=True) or _refs_changed(
        new, stack, template, changes
    )


def _exports(template: dict[str, Any]) -> dict[str, Any]:
    """Export name -> value of the template's exported outputs (names are literal here)."""
    return {
        str(output["Export"]["Name"]): output["Value"]
        for output in template.get("Outputs", {}).values()
        if "Export" in output
    }


def _ssm_values(template: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """SSM parameter name -> (logical id, value) of the template's AWS::SSM::Parameter."""
    return {
        str(r["Properties"]["Name"]): (logical_id, r["Properties"]["Value"])
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::SSM::Parameter" and isinstance(r["Properties"].get("Name"), str)
    }


def deploy_changes(old: Templates, new: Templates) -> _Changes:
    """Resources replaced, exports and SSM values changed, when ``new`` is deployed over ``old``."""
    changes = _Changes(frozenset(), frozenset(), frozenset())
    while True:
        replaced = set(changes.replaced)
        for stack, template in new.items():
            before = old.get(stack, {"Resources": {}})["Resources"]
            for logical_id, resource in template["Resources"].items():
                previous = before.get(logical_id)
                if previous is None or previous["Type"] != resource["Type"]:
                    continue
                for path in create_only_paths(resource["Type"]):
                    olds = list(_values_at(previous.get("Properties", {}), path))
                    news = list(_values_at(resource.get("Properties", {}), path))
                    if _differs(olds, news, stack, template, changes):
                        replaced.add((stack, logical_id))
        exports = {
            name
            for stack, template in old.items()
            for name, value in _exports(template).items()
            if name not in _exports(new.get(stack, {}))
            or _differs(value, _exports(new[stack])[name], stack, new[stack], changes)
        }
        ssm = {
            name
            for stack, template in new.items()
            for name, (logical_id, value) in _ssm_values(template).items()
            if _ssm_values(old.get(stack, {"Resources": {}})).get(name, (None, None))[1] != value
            or _refs_changed(value, stack, template, changes)
            or (stack, logical_id) in replaced
        }
        updated = _Changes(frozenset(replaced), frozenset(exports), frozenset(ssm))
        if updated == changes:
            return changes
        changes = updated


# Where a resource type takes its physical name. A type missing from this table and from
# test_day_two's UNNAMED_TYPES fails the day-two test: decide whether it can carry a fixed name.
NAME_PROPERTY = {
    "AWS::BedrockAgentCore::Evaluator": "EvaluatorName",
    "AWS::BedrockAgentCore::OnlineEvaluationConfig": "OnlineEvaluationConfigName",
    "AWS::BedrockAgentCore::Memory": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::KMS::Key": None,
    "AWS::SSM::Parameter": "Name",
    "AWS::SageMaker::Endpoint": "EndpointName",
    "AWS::SageMaker::EndpointConfig": "EndpointConfigName",
    "AWS::SageMaker::Model": "ModelName",
    "AWS::SageMaker::InferenceComponent": "InferenceComponentName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::XRay::ResourcePolicy": "PolicyName",
    "AWS::BedrockAgentCore::Runtime": "AgentRuntimeName",
    "AWS::BedrockAgentCore::RuntimeEndpoint": "Name",
    "AWS::Logs::DeliverySource": "Name",
    "AWS::Logs::DeliveryDestination": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::BedrockAgentCore::Gateway": "Name",
    "AWS::BedrockAgentCore::GatewayTarget": "Name",
    "AWS::Cognito::UserPool": "UserPoolName",
    "AWS::Cognito::UserPoolClient": "ClientName",
    "AWS::Cognito::UserPoolDomain": "Domain",
    "AWS::Cognito::UserPoolResourceServer": "Identifier",
}
# Types whose name is unique only inside a parent: (name property, parent property).
SCOPED_NAMES = {"AWS::BedrockAgentCore::RuntimeEndpoint": ("Name", "AgentRuntimeId")}


def name_collisions(
    old: Templates, new: Templates, name_property: Mapping[str, str | None]
) -> list[str]:
    """``stack/logical id: name`` of every resource created under a name the old app holds."""
    changes = deploy_changes(old, new)
    found = []
    for stack, template in new.items():
        before = old.get(stack, {"Resources": {}})["Resources"]
        for logical_id, resource in template["Resources"].items():
            kind = resource["Type"]
            prop = name_property.get(kind)
            name = resource.get("Properties", {}).get(prop) if prop else None
            created = logical_id not in before or (stack, logical_id) in changes.replaced
            if name is None or not created or _refs_changed(name, stack, template, changes):
                continue
            scope = SCOPED_NAMES.get(kind)
            if scope and _refs_changed(
                resource["Properties"].get(scope[1]), stack, template, changes
            ):
                continue
            held = [
                other_id
                for other_id, other in before.items()
                if other["Type"] == kind
                and json.dumps(other.get("Properties", {}).get(prop), sort_keys=True)
                == json.dumps(name, sort_keys=True)
            ]
            if held:
                found.append(f"{stack}/{logical_id}: {json.dumps(name)}")
    return found


def exports_in_use_changed(old: Templates, new: Templates) -> list[str]:
    """Exports that change or disappear while a stack of the old app imports them."""
    changes = deploy_changes(old, new)
    imported = {name for template in old.values() for name in _imports(template)}
    return sorted(changes.exports & imported)


def _imports(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("Fn::ImportValue"), str):
            yield value["Fn::ImportValue"]
        for item in value.values():
            yield from _imports(item)
    elif isinstance(value, list):
        for item in value:
            yield from _imports(item)


def replaced_ids(old: Templates, new: Templates) -> dict[str, list[str]]:
    """Stack -> logical ids CloudFormation replaces (for messages and assertions)."""
    out: dict[str, list[str]] = {}
    for stack, logical_id in sorted(deploy_changes(old, new).replaced):
        out.setdefault(stack, []).append(logical_id)
    return out


def updated_ids(old: Templates, new: Templates) -> dict[str, list[str]]:
    """Stack -> logical ids whose properties change at deploy time (their handler is called).

    CloudFormation "updates resources based on differences between what you submit and the
    stack's current template"; a resource whose properties are unchanged (textually and in
    every value they refer to) is not touched.
    """
    changes = deploy_changes(old, new)
    out: dict[str, list[str]] = {}
    for stack, template in new.items():
        before = old.get(stack, {"Resources": {}})["Resources"]
        for logical_id, resource in sorted(template["Resources"].items()):
            previous = before.get(logical_id)
            if previous is None or _differs(
                previous.get("Properties", {}),
                resource.get("Properties", {}),
                stack,
                template,
                changes,
            ):
                out.setdefault(stack, []).append(logical_id)
    return out
