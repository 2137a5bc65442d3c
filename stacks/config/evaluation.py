"""``evaluation``: AgentCore online evaluation of the live runtime endpoint.

Dev samples many sessions (changes land there and need signal quickly); prod
samples few (every evaluated trace costs judge-model tokens).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import flag, positive, require

# The L2's limits (aws_bedrockagentcore validation), repeated so a bad value fails
# with our message before synthesis.
SAMPLING_PERCENTAGE_RANGE = (0.01, 100.0)
SESSION_TIMEOUT_MINUTES_RANGE = (1, 1440)
_MODEL_ID_RE = re.compile(r"(?:[a-z]{2,4}\.)?[a-z0-9-]+\.[A-Za-z0-9._:-]+")
# Cross-region inference profiles carry a geography prefix; foundation models do not.
INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "jp.", "au.", "global.")


@dataclass(frozen=True, kw_only=True)
class EvaluationSettings:
    """How the live runtime endpoint is evaluated in one stage."""

    sampling_percentage: float = 5.0
    judge_model_id: str = "us.anthropic.claude-sonnet-4-6"
    session_timeout_minutes: int = 15
    enabled: bool = True  # False: created DISABLED (kept, not sampling)

    def validate(self) -> None:
        low, high = SAMPLING_PERCENTAGE_RANGE
        require(
            isinstance(self.sampling_percentage, int | float)
            and not isinstance(self.sampling_percentage, bool)
            and low <= self.sampling_percentage <= high,
            "evaluation.sampling_percentage",
            self.sampling_percentage,
            f"a percentage in [{low}, {high}]",
        )
        low_m, high_m = SESSION_TIMEOUT_MINUTES_RANGE
        positive(
            "evaluation.session_timeout_minutes",
            self.session_timeout_minutes,
            minimum=low_m,
            maximum=high_m,
        )
        require(
            _MODEL_ID_RE.fullmatch(self.judge_model_id) is not None,
            "evaluation.judge_model_id",
            self.judge_model_id,
            "a Bedrock model id or inference profile id such as us.anthropic.claude-sonnet-4-6",
        )
        flag("evaluation.enabled", self.enabled)

    @property
    def judge_is_inference_profile(self) -> bool:
        return self.judge_model_id.startswith(INFERENCE_PROFILE_PREFIXES)

    @property
    def judge_foundation_model(self) -> str:
        """The foundation model behind the judge id (the profile prefix removed)."""
        if self.judge_is_inference_profile:
            return self.judge_model_id.split(".", 1)[1]
        return self.judge_model_id
