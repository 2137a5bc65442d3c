"""How other stacks find the agent runtime: SSM parameters, not CloudFormation exports.

The runtime's id and ARN change whenever the runtime is replaced (a new
``runtime.name``: ``AgentRuntimeName`` is create-only). A stack that imports
them through ``Fn::ImportValue`` would pin them: CloudFormation refuses to
change an export another stack imports, so the replacement could never deploy.
The Runtime stack therefore writes the ARN to an SSM parameter
(:class:`RuntimeParameters`) and the Monitoring and Evaluation stacks read it
as an ``AWS::SSM::Parameter::Value<String>`` template parameter, the id cut
from it (``runtime/<id>``) by ``Fn::Split`` (:func:`runtime_from_parameters`).
CloudFormation resolves such a parameter on every create and update, and the
CDK CLI never skips a stack that has one, so ``cdk deploy --all`` carries a new
runtime to its readers in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Fn
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ssm as ssm
from constructs import Construct


@dataclass(frozen=True, kw_only=True)
class RuntimeLookup:
    """Where a reader finds the runtime: its name and the parameter that holds its ARN."""

    name: str
    arn_parameter: str
    # The execution role's ARN (the imported runtime's interface requires one; no reader uses it).
    role_arn: str


class RuntimeParameters(Construct):
    """The runtime's ARN, written where the other stacks read it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: agentcore.IBedrockAgentRuntime,
        lookup: RuntimeLookup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.arn = ssm.StringParameter(
            self,
            "Arn",
            parameter_name=lookup.arn_parameter,
            string_value=runtime.agent_runtime_arn,
            description=f"ARN of the {lookup.name} agent runtime (read by the Monitoring and "
            "Evaluation stacks)",
        )


def runtime_from_parameters(
    scope: Construct, construct_id: str, *, lookup: RuntimeLookup
) -> agentcore.IBedrockAgentRuntime:
    """The runtime as a reader stack sees it: ARN and id resolved from SSM at deploy time."""
    arn = ssm.StringParameter.value_for_string_parameter(scope, lookup.arn_parameter)
    return agentcore.Runtime.from_agent_runtime_attributes(
        scope,
        construct_id,
        agent_runtime_arn=arn,
        # arn:<partition>:bedrock-agentcore:<region>:<account>:runtime/<id>
        agent_runtime_id=Fn.select(1, Fn.split("/", arn)),
        agent_runtime_name=lookup.name,
        role_arn=lookup.role_arn,
    )
