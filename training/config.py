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

The LoRA targets are also checked against what the pinned vLLM serves on
gpt-oss (``model_container/lora_support.py``, the file the model container
checks adapters with), so no method can train an adapter the endpoint would
refuse.

GRPO, DAPO and GSPO are one trainer (TRL's ``GRPOTrainer``) with the same
reward and dataset; each file names its objective's defining settings
(:data:`RECIPES`) and a file that contradicts its method is refused: TRL's
own default ``loss_type`` is ``"dapo"``, so an unnamed loss would silently
turn GRPO into DAPO. docs/customization.md gives each recipe's values and
the papers'.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

# Policy-optimisation methods on TRL's GRPOTrainer: same reward, same "grpo" dataset.
GRPO_FAMILY = ("grpo", "dapo", "gspo")
METHODS = ("sft", "dpo", *GRPO_FAMILY)
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
# In the repository and in the training job's source bundle alike.
LORA_SUPPORT = Path(__file__).resolve().parent.parent / "model_container" / "lora_support.py"
DTYPES = ("bfloat16", "float32")
# TRL 1.16 GRPOConfig: loss_type, importance_sampling_level and scale_rewards values.
LOSS_TYPES = ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo", "luspo", "vespo")
IMPORTANCE_SAMPLING_LEVELS = ("token", "sequence")
SCALE_REWARDS = ("group", "batch", "none")
# The settings that make each objective what it is (the rest are tunable).
RECIPES: dict[str, dict[str, str]] = {
    # DeepSeekMath GRPO: token ratios, each completion's loss averaged over its own length.
    "grpo": {"loss_type": "grpo", "importance_sampling_level": "token"},
    # DAPO: token ratios, token-level loss over the batch's tokens (plus clip-higher).
    "dapo": {"loss_type": "dapo", "importance_sampling_level": "token"},
    # GSPO: one length-normalised ratio per sequence, sequence-level loss.
    "gspo": {"loss_type": "grpo", "importance_sampling_level": "sequence"},
}

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
_POLICY_OPTIMISATION: dict[str, type | tuple[type, ...]] = {
    **_COMMON,
    "num_generations": int,
    "max_completion_length": int,
    "temperature": float,
    "beta": float,
    "loss_type": str,
    "importance_sampling_level": str,
    "epsilon": float,
    "epsilon_high": float,
    "scale_rewards": str,
    "mask_truncated_completions": bool,
    "steps_per_generation": int,
    "num_iterations": int,
}
TRAINER_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "sft": {**_COMMON, "max_length": int},
    "dpo": {**_COMMON, "max_length": int, "beta": float},
    **{method: _POLICY_OPTIMISATION for method in GRPO_FAMILY},
}


class TrainingConfigError(ValueError):
    """The hyperparameter file cannot be used; the message names key, value and what is allowed."""


def _bad(key: str, value: Any, allowed: str) -> TrainingConfigError:
    return TrainingConfigError(f"{key}={value!r} is invalid: expected {allowed}")


def dataset_of(method: str) -> str:
    """The dataset folder a method trains on (the GRPO family shares ``grpo/``)."""
    return "grpo" if method in GRPO_FAMILY else method


@cache
def lora_support() -> ModuleType:
    """``model_container/lora_support.py``: the serving side's rules, loaded by path.

    The model container is a Docker build context, not a package; the rules
    live there because the container applies them to every adapter it loads.
    """
    spec = importlib.util.spec_from_file_location("model_container_lora_support", LORA_SUPPORT)
    if spec is None or spec.loader is None or not LORA_SUPPORT.is_file():
        raise TrainingConfigError(f"{LORA_SUPPORT} is missing: the LoRA serving rules live there")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


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
    _validate_lora(config.get("lora"), model_name=model["name_or_path"])
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
    if method in GRPO_FAMILY:
        _validate_policy_optimisation(method, trainer)
    return config


def _validate_lora(lora: Any, *, model_name: str) -> None:
    """Rank, alpha, dropout, and targets the pinned vLLM can serve on gpt-oss."""
    if not isinstance(lora, dict):
        raise _bad("lora", lora, "an object")
    r = lora.get("r")
    if not isinstance(r, int) or isinstance(r, bool) or not 1 <= r <= 64:
        # vLLM serves adapters up to --max-lora-rank; 64 is the largest we configure there.
        raise _bad("lora.r", r, "an integer in [1, 64] (the serving side's max LoRA rank)")
    alpha = lora.get("lora_alpha")
    if not isinstance(alpha, int) or isinstance(alpha, bool) or alpha < 1:
        raise _bad("lora.lora_alpha", alpha, "a positive integer")
    targets = lora.get("target_parameters", [])
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise _bad("lora.target_parameters", targets, "a list like '7.mlp.experts.gate_up_proj'")
    dropout = lora.get("lora_dropout", 0.0)
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise _bad("lora.lora_dropout", dropout, "a number in [0, 1)")
    if targets and dropout:
        # PEFT's parameter wrapper (the experts) cannot apply dropout and refuses it.
        raise _bad("lora.lora_dropout", dropout, "0 when lora.target_parameters is set (PEFT)")
    modules = lora.get("target_modules", "all-linear")
    if not isinstance(modules, (str, list)):
        raise _bad("lora.target_modules", modules, "'all-linear' or a list of module names")
    rules = lora_support()
    layers = rules.GPT_OSS_20B.num_hidden_layers if model_name == "openai/gpt-oss-20b" else None
    for key, problems in (
        ("lora.target_modules", rules.target_problems(modules, [])),
        ("lora.target_parameters", rules.target_problems("all-linear", targets, num_layers=layers)),
    ):
        if problems:
            raise TrainingConfigError(f"{key}: {problems[0]}")


def _validate_policy_optimisation(method: str, trainer: dict[str, Any]) -> None:
    """Group sizes, clipping, and the method's defining settings (:data:`RECIPES`)."""
    generations = trainer.get("num_generations", 8)
    if generations < 2:
        raise _bad("trainer.num_generations", generations, "an integer >= 2 (groups)")
    accumulation = trainer.get("gradient_accumulation_steps", 1)
    steps = trainer.get("steps_per_generation", accumulation)
    iterations = trainer.get("num_iterations", 1)
    for key, value in (("steps_per_generation", steps), ("num_iterations", iterations)):
        if value < 1:
            raise _bad(f"trainer.{key}", value, "an integer >= 1")
    # TRL samples per_device_train_batch_size x steps_per_generation completions at once.
    if trainer.get("per_device_train_batch_size", 8) * steps % generations:
        raise _bad(
            "trainer.per_device_train_batch_size",
            trainer.get("per_device_train_batch_size"),
            f"a batch (x steps_per_generation, default gradient_accumulation_steps) divisible "
            f"by num_generations={generations}",
        )
    choices = {"loss_type": LOSS_TYPES, "importance_sampling_level": IMPORTANCE_SAMPLING_LEVELS,
               "scale_rewards": SCALE_REWARDS}  # fmt: skip
    for key, allowed in choices.items():
        if key in trainer and trainer[key] not in allowed:
            raise _bad(f"trainer.{key}", trainer[key], " | ".join(allowed))
    for key, wanted in RECIPES[method].items():
        if trainer.get(key) != wanted:
            raise _bad(f"trainer.{key}", trainer.get(key), f"{wanted!r} (the {method} recipe)")
    low = trainer.get("epsilon", 0.2)
    if not 0 < low < 1:
        raise _bad("trainer.epsilon", low, "a number in (0, 1)")
    high = trainer.get("epsilon_high", low)
    if high < low:
        raise _bad("trainer.epsilon_high", high, f"a number >= epsilon={low}")
    if method == "dapo" and high <= low:
        raise _bad("trainer.epsilon_high", high, f"a number > epsilon={low} (DAPO's clip-higher)")
    if method == "gspo" and steps <= accumulation and iterations == 1:
        # On-policy, every sequence ratio is exactly 1 and GSPO's clipping never acts.
        raise _bad(
            "trainer.steps_per_generation",
            trainer.get("steps_per_generation"),
            f"more than gradient_accumulation_steps={accumulation} (or num_iterations > 1): "
            "GSPO's sequence ratio only differs from 1 off-policy",
        )


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
