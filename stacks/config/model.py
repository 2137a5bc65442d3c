"""``model``: what the vLLM container serves and how (the SageMaker Model's container env)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import positive, require

# An S3 folder URI: s3://<bucket>/<prefix>/ (the prefix may be empty for the model weights).
_WEIGHTS_URI = re.compile(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/(\S+/)?")
_ADAPTER_URI = re.compile(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/(\S+/)")
_ADAPTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_ADAPTERS = 16
LORA_RANKS = (8, 16, 32, 64)


@dataclass(frozen=True, kw_only=True)
class ModelSettings:
    """What the vLLM container serves and how (becomes the Model's container env)."""

    model_id: str = "openai/gpt-oss-20b"
    # s3://bucket/prefix/ with the unpacked weights; None = download from the hub.
    weights_s3_uri: str | None = None
    # Only possible with S3 weights: an isolated container cannot reach the hub.
    network_isolation: bool = False
    max_model_len: int = 32_768
    gpu_memory_utilization: float = 0.90
    # SAGEMAKER_CONTAINER_LOG_LEVEL (Python logging level number), None = unset.
    container_log_level: int | None = None
    # LoRA adapters served beside the base model (docs/customization.md):
    # "NAME=s3://bucket/prefix/" entries; a request's "model" field picks one by NAME.
    adapters: tuple[str, ...] = ()
    max_lora_rank: int = 16

    def validate(self) -> None:
        require(bool(self.model_id.strip()), "model.model_id", self.model_id, "a model id")
        if self.weights_s3_uri is not None:
            require(
                _WEIGHTS_URI.fullmatch(self.weights_s3_uri) is not None,
                "model.weights_s3_uri",
                self.weights_s3_uri,
                "s3://<bucket>/<prefix>/ (a folder URI ending in '/') or unset",
            )
        require(
            not self.network_isolation or self.weights_s3_uri is not None,
            "model.network_isolation",
            self.network_isolation,
            "false unless model.weights_s3_uri is set (an isolated container cannot "
            "download weights from the hub)",
        )
        positive("model.max_model_len", self.max_model_len, minimum=1024, maximum=131_072)
        require(
            0.1 <= self.gpu_memory_utilization <= 0.98,
            "model.gpu_memory_utilization",
            self.gpu_memory_utilization,
            "a fraction in [0.1, 0.98]",
        )
        if self.container_log_level is not None:
            require(
                self.container_log_level in (10, 20, 30, 40),
                "model.container_log_level",
                self.container_log_level,
                "10 | 20 | 30 | 40 or unset",
            )
        self._validate_adapters()

    def _validate_adapters(self) -> None:
        names: list[str] = []
        for entry in self.adapters:
            name, _, uri = str(entry).partition("=")
            require(
                _ADAPTER_NAME.fullmatch(name) is not None
                and name not in ("model", *names)
                and _ADAPTER_URI.fullmatch(uri) is not None,
                "model.adapters",
                entry,
                "NAME=s3://<bucket>/<prefix>/ entries with distinct names of [A-Za-z0-9._-] "
                "(not 'model', the base's served name)",
            )
            names.append(name)
        require(
            len(names) <= MAX_ADAPTERS,
            "model.adapters",
            len(names),
            f"at most {MAX_ADAPTERS} adapters",
        )
        require(
            self.max_lora_rank in LORA_RANKS,
            "model.max_lora_rank",
            self.max_lora_rank,
            "8 | 16 | 32 | 64",
        )

    @property
    def adapter_uris(self) -> dict[str, str]:
        """Served adapter name -> its S3 folder."""
        return dict(str(entry).partition("=")[::2] for entry in self.adapters)

    @property
    def weights_bucket(self) -> str | None:
        """Bucket name of :attr:`weights_s3_uri`."""
        if not self.weights_s3_uri:
            return None
        return self.weights_s3_uri.removeprefix("s3://").split("/", 1)[0]

    @property
    def weights_prefix(self) -> str | None:
        """Key prefix of :attr:`weights_s3_uri` (may be empty for a whole bucket)."""
        if not self.weights_s3_uri:
            return None
        return self.weights_s3_uri.removeprefix("s3://").split("/", 1)[1]
