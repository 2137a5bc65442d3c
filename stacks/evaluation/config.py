"""Settings of the online evaluation, per stage, validated when built.

Dev samples many sessions (changes land there and need signal quickly);
prod samples few (every evaluated trace costs judge-model tokens). Errors
name the key, the value and what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The L2's limits (aws_bedrockagentcore validation), repeated so a bad value fails
# with our message before synthesis.
SAMPLING_PERCENTAGE_RANGE = (0.01, 100.0)
SESSION_TIMEOUT_MINUTES_RANGE = (1, 1440)
_MODEL_ID_RE = re.compile(r"(?:[a-z]{2,4}\.)?[a-z0-9-]+\.[A-Za-z0-9._:-]+")
# Cross-region inference profiles carry a geography prefix; foundation models do not.
INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "jp.", "au.", "global.")


class EvaluationConfigError(ValueError):
    """An evaluation setting the stack cannot be built with."""


@dataclass(frozen=True, kw_only=True)
class EvaluationConfig:
    """How the live runtime endpoint is evaluated in one stage."""

    sampling_percentage: float
    judge_model_id: str = "us.anthropic.claude-sonnet-4-6"
    session_timeout_minutes: int = 15
    enabled: bool = True  # False: created DISABLED (kept, not sampling)

    def __post_init__(self) -> None:
        low, high = SAMPLING_PERCENTAGE_RANGE
        if not low <= self.sampling_percentage <= high:
            raise EvaluationConfigError(
                f"evaluation.sampling_percentage={self.sampling_percentage!r} is invalid: "
                f"expected a percentage in [{low}, {high}]"
            )
        low_m, high_m = SESSION_TIMEOUT_MINUTES_RANGE
        if not low_m <= self.session_timeout_minutes <= high_m:
            raise EvaluationConfigError(
                f"evaluation.session_timeout_minutes={self.session_timeout_minutes!r} is "
                f"invalid: expected minutes in [{low_m}, {high_m}]"
            )
        if not _MODEL_ID_RE.fullmatch(self.judge_model_id):
            raise EvaluationConfigError(
                f"evaluation.judge_model_id={self.judge_model_id!r} is invalid: expected a "
                "Bedrock model id or inference profile id such as us.anthropic.claude-sonnet-4-6"
            )

    @property
    def judge_is_inference_profile(self) -> bool:
        return self.judge_model_id.startswith(INFERENCE_PROFILE_PREFIXES)

    @property
    def judge_foundation_model(self) -> str:
        """The foundation model behind the judge id (the profile prefix removed)."""
        if self.judge_is_inference_profile:
            return self.judge_model_id.split(".", 1)[1]
        return self.judge_model_id


STAGE_DEFAULTS: dict[str, EvaluationConfig] = {
    "dev": EvaluationConfig(sampling_percentage=50.0),
    "prod": EvaluationConfig(sampling_percentage=5.0),
}


def evaluation_config_for(stage: str) -> EvaluationConfig:
    """The stage's evaluation settings; a stage without defaults samples like prod."""
    return STAGE_DEFAULTS.get(stage, STAGE_DEFAULTS["prod"])
