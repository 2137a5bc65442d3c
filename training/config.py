"""One hyperparameter file per method, validated before anything heavy is imported.

Standard library only: the launcher (in the agent's CLI) and the unit tests
read these files without torch. A bad file raises :class:`TrainingConfigError`
naming the key, the value and what is allowed.

The LoRA defaults follow OpenAI's published recipe for gpt-oss with
Transformers and PEFT: the MXFP4 checkpoint dequantised to bf16
(``Mxfp4Config(dequantize=True)``), eager attention, rank 8 / alpha 16 on
every linear layer (``target_modules="all-linear"``: on gpt-oss the attention
q/k/v/o projections) plus the expert projections of layers 7, 15 and 23
through ``target_parameters`` (the experts are 3-D parameters, not
``nn.Linear`` modules, so only ``target_parameters`` reaches them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

METHODS = ("sft", "dpo", "grpo")
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DTYPES = ("bfloat16", "float32")
_EXPERT_PARAMETER = re.compile(r"\d+\.mlp\.experts\.(gate_up_proj|down_proj)")

# Trainer keys each method accepts (TRL's config field names), with a type check.
_COMMON: dict[str, type | tuple[type, ...]] = {
    "learning_rate": float,
    "num_train_epochs": (int, float),
    "max_steps": int,
    "per_device_train_batch_size": int,
    "gradient_accumulation_steps": int,
    "gradient_checkpointing": bool,
    "warmup_steps": (int, float),
    "lr_scheduler_type": str,
    "lr_scheduler_kwargs": dict,
    "logging_steps": int,
    "save_steps": int,
    "bf16": bool,
    "seed": int,
}
TRAINER_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "sft": {**_COMMON, "max_length": int},
    "dpo": {**_COMMON, "max_length": int, "beta": float},
    "grpo": {
        **_COMMON,
        "num_generations": int,
        "max_completion_length": int,
        "temperature": float,
        "beta": float,
    },
}


class TrainingConfigError(ValueError):
    """The hyperparameter file cannot be used; the message names key, value and what is allowed."""


def _bad(key: str, value: Any, allowed: str) -> TrainingConfigError:
    return TrainingConfigError(f"{key}={value!r} is invalid: expected {allowed}")


def validate(config: dict[str, Any], *, method: str) -> dict[str, Any]:
    """``config`` when it is a valid ``method`` file; :class:`TrainingConfigError` otherwise."""
    if method not in METHODS:
        raise _bad("method", method, " | ".join(METHODS))
    if config.get("method") != method:
        raise _bad("method", config.get("method"), repr(method))
    unknown = set(config) - {"method", "model", "lora", "trainer"}
    if unknown:
        raise _bad(sorted(unknown)[0], "(present)", "only method, model, lora, trainer")
    model = config.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("name_or_path"), str):
        raise _bad("model.name_or_path", (model or {}).get("name_or_path"), "a model id or path")
    if model.get("dtype", "bfloat16") not in DTYPES:
        raise _bad("model.dtype", model.get("dtype"), " | ".join(DTYPES))
    if not isinstance(model.get("dequantize_mxfp4", True), bool):
        raise _bad("model.dequantize_mxfp4", model.get("dequantize_mxfp4"), "true or false")
    lora = config.get("lora")
    if not isinstance(lora, dict):
        raise _bad("lora", lora, "an object")
    r = lora.get("r")
    if not isinstance(r, int) or isinstance(r, bool) or not 1 <= r <= 64:
        # vLLM serves adapters up to --max-lora-rank; 64 is the largest we configure there.
        raise _bad("lora.r", r, "an integer in [1, 64] (the serving side's max LoRA rank)")
    alpha = lora.get("lora_alpha")
    if not isinstance(alpha, int) or isinstance(alpha, bool) or alpha < 1:
        raise _bad("lora.lora_alpha", alpha, "a positive integer")
    dropout = lora.get("lora_dropout", 0.0)
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise _bad("lora.lora_dropout", dropout, "a number in [0, 1)")
    targets = lora.get("target_parameters", [])
    if not isinstance(targets, list) or not all(
        isinstance(t, str) and _EXPERT_PARAMETER.fullmatch(t) for t in targets
    ):
        raise _bad("lora.target_parameters", targets, "a list like '7.mlp.experts.gate_up_proj'")
    trainer = config.get("trainer")
    if not isinstance(trainer, dict):
        raise _bad("trainer", trainer, "an object")
    allowed = TRAINER_KEYS[method]
    for key, value in trainer.items():
        if key not in allowed:
            raise _bad(f"trainer.{key}", value, "one of " + ", ".join(sorted(allowed)))
        kind = allowed[key]
        if isinstance(value, bool) and kind is not bool:
            raise _bad(f"trainer.{key}", value, f"a {_name(kind)}")
        if not isinstance(value, kind):
            raise _bad(f"trainer.{key}", value, f"a {_name(kind)}")
    for key in ("per_device_train_batch_size", "gradient_accumulation_steps", "logging_steps"):
        if key in trainer and trainer[key] < 1:
            raise _bad(f"trainer.{key}", trainer[key], "an integer >= 1")
    if "learning_rate" in trainer and not 0 < trainer["learning_rate"] < 1:
        raise _bad("trainer.learning_rate", trainer["learning_rate"], "a number in (0, 1)")
    if method == "grpo":
        generations = trainer.get("num_generations", 8)
        if generations < 2:
            raise _bad("trainer.num_generations", generations, "an integer >= 2 (groups)")
        batch = trainer.get("per_device_train_batch_size", 8) * trainer.get(
            "gradient_accumulation_steps", 1
        )
        if batch % generations:
            raise _bad(
                "trainer.per_device_train_batch_size",
                trainer.get("per_device_train_batch_size"),
                f"a batch (x gradient_accumulation_steps) divisible by num_generations="
                f"{generations}",
            )
    return config


def _name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__


def load(method: str, path: Path | None = None) -> dict[str, Any]:
    """The validated config of ``method`` (default: ``training/configs/<method>.json``)."""
    source = path or CONFIG_DIR / f"{method}.json"
    try:
        config = json.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingConfigError(f"{source}: cannot read a JSON config ({exc})") from None
    if not isinstance(config, dict):
        raise TrainingConfigError(f"{source}: expected a JSON object")
    return validate(config, method=method)
