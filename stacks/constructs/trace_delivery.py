"""X-Ray trace delivery of the AgentCore runtime.

The runtime L2's ``tracing_enabled`` creates the delivery (source: the
runtime's TRACES, destination: X-Ray). With ``manage_delivery_resource_policy``
off -- the runtime stack's choice, so log delivery does not spend one of the
account's ten CloudWatch Logs resource-policy slots -- the L2 also skips the
X-Ray resource policy that lets the log-delivery service write segments,
and traces are silently dropped. :func:`allow_trace_delivery` adds exactly
that policy, scoped to this runtime and this account's delivery sources.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_xray as xray
from constructs import Construct

from stacks.arns import all_of_kind

DELIVERY_PRINCIPAL = "delivery.logs.amazonaws.com"


def allow_trace_delivery(
    scope: Construct, construct_id: str, *, runtime: agentcore.IBedrockAgentRuntime
) -> xray.CfnResourcePolicy:
    """An X-Ray resource policy letting log delivery put this runtime's trace segments."""
    stack = Stack.of(scope)
    delivery_sources = all_of_kind(stack, service="logs", resource="delivery-source")
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AgentCoreTraceDelivery",
                "Effect": "Allow",
                "Principal": {"Service": DELIVERY_PRINCIPAL},
                "Action": "xray:PutTraceSegments",
                # X-Ray resource policies only accept "*" here; the conditions scope it.
                "Resource": "*",
                "Condition": {
                    "ForAllValues:ArnLike": {
                        "logs:LogGeneratingResourceArns": [runtime.agent_runtime_arn]
                    },
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": delivery_sources},
                },
            }
        ],
    }
    return xray.CfnResourcePolicy(
        scope,
        construct_id,
        policy_name=f"{stack.stack_name}-agentcore-traces"[:128],
        policy_document=stack.to_json_string(document),
    )
