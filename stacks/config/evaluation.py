"""``evaluation``: AgentCore online evaluation of the live runtime endpoint.

Dev samples many sessions (changes land there and need signal quickly); prod
samples few (every evaluated trace costs judge-model tokens). The custom
evaluator's judge is a Bedrock foundation model called through the
cross-region inference profile of the stack's geography: ``us.`` in a US
region, ``eu.`` in Europe, ``jp.``/``au.``/``apac.`` in Asia Pacific.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import flag, invalid, positive, require

# The L2's limits (aws_bedrockagentcore validation), repeated so a bad value fails
# with our message before synthesis.
SAMPLING_PERCENTAGE_RANGE = (0.01, 100.0)
SESSION_TIMEOUT_MINUTES_RANGE = (1, 1440)
# A foundation model id (provider.model[:version]), without a geography prefix.
_FOUNDATION_MODEL_RE = re.compile(r"[a-z0-9-]+\.[A-Za-z0-9._:-]+")
# Geographies of Bedrock's cross-region inference profiles (the profile id's prefix);
# "auto" picks the stack region's geography, "none" calls the model in the stack's region.
JUDGE_GEOGRAPHIES = ("us", "us-gov", "eu", "apac", "jp", "au", "global")
AUTO, NO_PROFILE = "auto", "none"
# The geography whose profile a region's requests use ("auto"); the source regions of
# Bedrock's system-defined inference profiles.
REGION_GEOGRAPHY: dict[str, str] = {
    **dict.fromkeys(("us-east-1", "us-east-2", "us-west-1", "us-west-2"), "us"),
    **dict.fromkeys(("us-gov-east-1", "us-gov-west-1"), "us-gov"),
    **dict.fromkeys(
        (
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
        ),
        "eu",
    ),
    **dict.fromkeys(("ap-northeast-1", "ap-northeast-3"), "jp"),
    **dict.fromkeys(("ap-southeast-2", "ap-southeast-4"), "au"),
    **dict.fromkeys(
        (
            "ap-east-2",
            "ap-northeast-2",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-3",
            "ap-southeast-5",
            "ap-southeast-7",
        ),
        "apac",
    ),
}


@dataclass(frozen=True, kw_only=True)
class EvaluationSettings:
    """How the live runtime endpoint is evaluated in one stage."""

    sampling_percentage: float = 5.0
    # The judge's foundation model; the geography prefix comes from judge_geography.
    judge_model: str = "anthropic.claude-sonnet-4-6"
    judge_geography: str = AUTO
    session_timeout_minutes: int = 15
    enabled: bool = True  # False: created DISABLED (kept, not sampling)
    # The canary endpoint sees only deliberate traffic (comparisons, testers): sample all of it.
    canary_sampling_percentage: float = 100.0

    def validate(self) -> None:
        low, high = SAMPLING_PERCENTAGE_RANGE
        for key, percentage in (
            ("evaluation.sampling_percentage", self.sampling_percentage),
            ("evaluation.canary_sampling_percentage", self.canary_sampling_percentage),
        ):
            require(
                isinstance(percentage, int | float)
                and not isinstance(percentage, bool)
                and low <= percentage <= high,
                key,
                percentage,
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
            _FOUNDATION_MODEL_RE.fullmatch(self.judge_model) is not None
            and self.judge_model.split(".", 1)[0] not in JUDGE_GEOGRAPHIES,
            "evaluation.judge_model",
            self.judge_model,
            "a Bedrock foundation model id such as anthropic.claude-sonnet-4-6 (no geography "
            "prefix: that is evaluation.judge_geography)",
        )
        require(
            self.judge_geography in (AUTO, NO_PROFILE, *JUDGE_GEOGRAPHIES),
            "evaluation.judge_geography",
            self.judge_geography,
            " | ".join((AUTO, NO_PROFILE, *JUDGE_GEOGRAPHIES)),
        )
        flag("evaluation.enabled", self.enabled)

    def geography_for(self, region: str) -> str | None:
        """The inference-profile prefix in ``region`` (None: the model itself, no profile)."""
        if self.judge_geography == NO_PROFILE:
            return None
        if self.judge_geography != AUTO:
            return self.judge_geography
        if region not in REGION_GEOGRAPHY:
            raise invalid(
                "evaluation.judge_geography",
                self.judge_geography,
                f"one of {' | '.join(JUDGE_GEOGRAPHIES)} or none: region {region} has no "
                "known inference-profile geography",
            )
        return REGION_GEOGRAPHY[region]
