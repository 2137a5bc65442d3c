"""The online evaluation of the runtime endpoint: built-in evaluators plus our own judge.

:class:`OnlineAgentEvaluation` creates

- one custom LLM-as-a-judge ``Evaluator`` at TRACE level, scoring every
  sampled turn 1 or 0 on the rubric in
  ``eval/rubrics/online_numeric_faithfulness_no_advice.md`` (numbers trace
  to the record, no personalised advice), the online twin of the offline
  graders in ``eval/``;
- one ``OnlineEvaluationConfig`` on the runtime's endpoint with the stage's
  sampling percentage, the built-in evaluators of :data:`BUILTIN_EVALUATORS`
  and the custom one, run by the execution role the IAM stack owns;
- with a canary endpoint, a second configuration on it, with the same
  evaluators and judge (so the two endpoints' scores compare like for like)
  and its own sampling percentage.

The evaluator's name carries a hash of its rubric, model and scale:
AgentCore locks a custom evaluator while an enabled configuration uses it,
so a changed rubric must be a new evaluator (CloudFormation replaces it and
repoints the configuration) rather than an update that would be refused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import EvaluationSettings
from stacks.constructs.judge_model import judge_model_id

RUBRIC_FILE = (
    Path(__file__).resolve().parents[2]
    / "eval"
    / "rubrics"
    / "online_numeric_faithfulness_no_advice.md"
)
TRACE_PLACEHOLDERS = ("{context}", "{assistant_turn}")

#: Built-in evaluators that fit a tool-using analyst: did the turn reach the user's goal,
#: is the answer faithful to what the tools returned, is it helpful, did it pick the
#: right tools and refuse what it should.
BUILTIN_EVALUATORS: tuple[agentcore.BuiltinEvaluator, ...] = (
    agentcore.BuiltinEvaluator.GOAL_SUCCESS_RATE,
    agentcore.BuiltinEvaluator.FAITHFULNESS,
    agentcore.BuiltinEvaluator.HELPFULNESS,
    agentcore.BuiltinEvaluator.TOOL_SELECTION_ACCURACY,
    agentcore.BuiltinEvaluator.REFUSAL,
)
SCORE_OPTIONS = (
    (1, "Faithful, no advice", "Every number traces to the tool results and no advice is given."),
    (0, "Unfaithful or advice", "A number is invented, changed or mislabelled, or advice appears."),
)


def load_rubric(path: Path = RUBRIC_FILE) -> str:
    """The judge's instructions; they must hold the TRACE-level placeholders."""
    text = path.read_text(encoding="utf-8").strip()
    missing = [p for p in TRACE_PLACEHOLDERS if p not in text]
    if missing:
        raise ValueError(f"{path.name} lacks the TRACE-level placeholders {missing}")
    return text


def service_name(runtime_name: str, endpoint_name: str) -> str:
    """The OpenTelemetry ``service.name`` AgentCore gives the runtime endpoint's spans."""
    return f"{runtime_name}.{endpoint_name}"


def custom_evaluator_name(*, stage: str, rubric: str, evaluation: EvaluationSettings) -> str:
    """``numeric_faithfulness_no_advice_<stage>_<hash>``: a new name for a new judge."""
    digest = hashlib.sha256(
        "\n".join(
            [rubric, evaluation.judge_model, evaluation.judge_geography, repr(SCORE_OPTIONS)]
        ).encode()
    ).hexdigest()[:8]
    return f"numeric_faithfulness_no_advice_{stage}_{digest}"


def online_config_name(stage: str, *, canary: bool = False) -> str:
    return f"stock_agent_online_{stage}" + ("_canary" if canary else "")


def evaluator_metric_names(custom_name: str) -> list[str]:
    """The metric names AgentCore publishes scores under: one per evaluator."""
    return [f"Builtin.{_builtin_id(b)}" for b in BUILTIN_EVALUATORS] + [custom_name]


def _builtin_id(evaluator: agentcore.BuiltinEvaluator) -> str:
    return str(evaluator.value).removeprefix("Builtin.")


class OnlineAgentEvaluation(Construct):
    """The custom judge and the online evaluation configuration of one runtime endpoint."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        evaluation: EvaluationSettings,
        runtime: agentcore.IBedrockAgentRuntime,
        endpoint_name: str,
        execution_role: iam.IRole,
        rubric: str,
        canary_endpoint_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.custom_evaluator_name = custom_evaluator_name(
            stage=stage, rubric=rubric, evaluation=evaluation
        )
        self.judge = agentcore.Evaluator(
            self,
            "NumericFaithfulnessNoAdvice",
            evaluator_name=self.custom_evaluator_name,
            description="Every number traces to the record; no personalised investment advice",
            level=agentcore.EvaluationLevel.TRACE,
            evaluator_config=agentcore.EvaluatorConfig.llm_as_a_judge(
                instructions=rubric,
                model_id=judge_model_id(self, evaluation),
                rating_scale=agentcore.EvaluatorRatingScale.numerical(
                    [
                        agentcore.NumericalRatingOption(value=v, label=label, definition=text)
                        for v, label, text in SCORE_OPTIONS
                    ]
                ),
                inference_config=agentcore.EvaluatorInferenceConfig(
                    max_tokens=1024, temperature=0.0
                ),
            ),
        )

        def online(
            construct_id: str, *, endpoint: str, canary: bool
        ) -> agentcore.OnlineEvaluationConfig:
            return agentcore.OnlineEvaluationConfig(
                self,
                construct_id,
                online_evaluation_config_name=online_config_name(stage, canary=canary),
                description=(
                    f"Sampled turns of the {stage} stock agent's canary endpoint ({endpoint})"
                    if canary
                    else f"Sampled live turns of the {stage} stock agent"
                ),
                data_source=agentcore.DataSourceConfig.from_agent_runtime_endpoint_name(
                    runtime, endpoint
                ),
                evaluators=[
                    *(agentcore.EvaluatorSelector.builtin(b) for b in BUILTIN_EVALUATORS),
                    agentcore.EvaluatorSelector.custom(self.judge),
                ],
                execution_role=execution_role,
                execution_status=(
                    agentcore.ExecutionStatus.ENABLED
                    if evaluation.enabled
                    else agentcore.ExecutionStatus.DISABLED
                ),
                sampling_percentage=(
                    evaluation.canary_sampling_percentage
                    if canary
                    else evaluation.sampling_percentage
                ),
                session_timeout=Duration.minutes(evaluation.session_timeout_minutes),
            )

        self.online = online("Online", endpoint=endpoint_name, canary=False)
        self.canary_online: agentcore.OnlineEvaluationConfig | None = None
        if canary_endpoint_name is not None:
            self.canary_online = online("OnlineCanary", endpoint=canary_endpoint_name, canary=True)
