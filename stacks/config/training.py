"""``training``: where SageMaker training jobs read datasets and write adapters."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import require


@dataclass(frozen=True, kw_only=True)
class TrainingSettings:
    """Where SageMaker training jobs read datasets and write adapters; None = no training role."""

    bucket: str | None = None
    datasets_prefix: str = "training/datasets/"
    output_prefix: str = "training/output/"
    # The AWS Deep Learning Containers registry account that serves the training image.
    image_account: str = "763104351884"
    image_repository: str = "huggingface-pytorch-training"

    def validate(self) -> None:
        if self.bucket is not None:
            require(
                re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", self.bucket) is not None,
                "training.bucket",
                self.bucket,
                "an S3 bucket name or unset",
            )
        for key, prefix in (
            ("training.datasets_prefix", self.datasets_prefix),
            ("training.output_prefix", self.output_prefix),
        ):
            require(
                re.fullmatch(r"([A-Za-z0-9._-]+/)+", prefix) is not None,
                key,
                prefix,
                "a key prefix like training/datasets/ (ending in '/')",
            )
        require(
            not (
                self.datasets_prefix.startswith(self.output_prefix)
                or self.output_prefix.startswith(self.datasets_prefix)
            ),
            "training.output_prefix",
            self.output_prefix,
            "a prefix that neither contains nor lies inside training.datasets_prefix "
            "(a job must not overwrite its own data)",
        )
        require(
            re.fullmatch(r"\d{12}", self.image_account) is not None,
            "training.image_account",
            self.image_account,
            "a 12-digit AWS account id",
        )
