"""Run records (``.json`` next to each ``.pdf``) live under the reports' lifecycle and grant.

The agent writes them with the same ``s3:PutObject`` as the PDF, under the
same ``YYYY/MM/DD/`` keys; nothing here may narrow either to ``*.pdf``
without the records falling outside retention or failing to upload.
"""

from __future__ import annotations

import json
from typing import Any

from stacks.bucket_stack import REPORT_BUCKET_LOGICAL_ID
from tests.support.cdk_synth import resources


def test_report_expiry_rule_covers_every_key_including_run_records(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    _, templates = stage_templates
    props = templates["Bucket"]["Resources"][REPORT_BUCKET_LOGICAL_ID]["Properties"]
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    expire = rules["expire-reports"]
    assert expire["Status"] == "Enabled"
    # No prefix, tag or size filter: the rule applies to every object, .json included.
    assert not {"Prefix", "TagFilters", "ObjectSizeGreaterThan", "ObjectSizeLessThan"} & set(expire)


def test_runtime_role_may_put_run_records_next_to_reports(
    stage_templates: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    _, templates = stage_templates
    roles = resources(templates["Iam"], "AWS::IAM::Role")
    statements = [
        s
        for logical_id, role in roles.items()
        if logical_id.startswith("RuntimeExecutionRole")
        for policy in role["Properties"].get("Policies", [])
        for s in policy["PolicyDocument"]["Statement"]
        if s.get("Sid") == "WriteReports"
    ]
    assert len(statements) == 1
    (resource,) = [statements[0]["Resource"]]
    # "<bucket arn>/*" (a Fn::Join): every key, so a .json next to a .pdf is covered.
    tail = json.dumps(resource)
    assert tail.endswith('/*"]]}'), tail
