"""SFT, DPO, GRPO, DAPO and GSPO with LoRA on gpt-oss-20b (TRL + PEFT).

``train(method, config, data_dir=..., output_dir=...)`` reads the datasets
written by ``stock-agent dataset build`` (``<data_dir>/<dataset>/train.jsonl``
and ``eval.jsonl``; GRPO, DAPO and GSPO share ``grpo/``), trains a LoRA
adapter as the config says and writes:

- ``<output_dir>/adapter/``: ``adapter_config.json`` + ``adapter_model.safetensors``
  (what vLLM's ``--lora-modules NAME=PATH`` loads), plus the tokenizer;
- ``<output_dir>/metrics.json``: method, steps, runtime, train loss, the
  trainer's log history, eval metrics and, for the GRPO family, the
  objective the trainer actually ran with and the reward's parts on the
  eval prompts.

GRPO, DAPO and GSPO are TRL's ``GRPOTrainer`` with the objective settings of
their config files; the reward is :func:`stock_agent.customize.reward.reward`, the same
function the evaluation harness grades with. ``tiny=True`` swaps gpt-oss-20b for the
tiny random gpt-oss of :mod:`training.tiny` (CPU smoke test).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from training.config import GRPO_FAMILY, dataset_of

logger = logging.getLogger(__name__)
# GRPOConfig fields that define a GRPO-family objective, echoed into metrics.json.
OBJECTIVE_FIELDS = (
    "loss_type", "importance_sampling_level", "epsilon", "epsilon_high", "beta",
    "scale_rewards", "mask_truncated_completions", "steps_per_generation", "num_iterations",
)  # fmt: skip


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def load_split(data_dir: Path, method: str) -> tuple[Any, Any]:
    """(train, eval) ``datasets.Dataset`` of ``method``; eval is ``None`` when empty."""
    from datasets import Dataset

    folder = dataset_of(method)

    def shape(row: dict[str, Any]) -> dict[str, Any]:
        if method == "sft":
            return {"messages": row["messages"]}
        if method == "dpo":
            return {"prompt": row["prompt"], "chosen": row["chosen"], "rejected": row["rejected"]}
        # GRPO: the record travels as JSON text (rows differ in shape; Arrow wants one schema)
        return {"prompt": row["prompt"], "record_json": json.dumps(row["record"])}

    train_rows = [shape(r) for r in _rows(data_dir / folder / "train.jsonl")]
    eval_rows = [shape(r) for r in _rows(data_dir / folder / "eval.jsonl")]
    if not train_rows:
        raise ValueError(f"{data_dir / folder / 'train.jsonl'} has no rows to train on")
    return Dataset.from_list(train_rows), (Dataset.from_list(eval_rows) if eval_rows else None)


def narrative_reward(completions: list[Any], record_json: list[str], **_: Any) -> list[float]:
    """GRPO reward: :func:`stock_agent.customize.reward.reward` of each completion vs its record."""
    from stock_agent.customize.reward import reward

    texts = [c[-1]["content"] if isinstance(c, list) else str(c) for c in completions]
    return [reward(text, json.loads(rec)) for text, rec in zip(texts, record_json, strict=True)]


def _texts(dataset: Any) -> list[str]:
    """Every message text of a dataset (the tiny tokenizer's vocabulary comes from it)."""
    texts: list[str] = []
    for row in dataset:
        for column in ("messages", "prompt", "chosen", "rejected"):
            texts += [m["content"] for m in row.get(column) or []]
    return texts


def load_model_and_tokenizer(
    config: dict[str, Any], *, tiny: bool, corpus: list[str] | None = None
) -> tuple[Any, Any]:
    """gpt-oss-20b dequantised to bf16 as the recipe says, or the tiny random model."""
    if tiny:
        from training.tiny import build_model, build_tokenizer

        tokenizer = build_tokenizer(corpus or [])
        return build_model(len(tokenizer)), tokenizer
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Mxfp4Config

    spec = config["model"]
    kwargs: dict[str, Any] = {
        "attn_implementation": spec.get("attn_implementation", "eager"),
        "dtype": getattr(torch, spec.get("dtype", "bfloat16")),
        "use_cache": False,
        "device_map": "auto",
    }
    if spec.get("dequantize_mxfp4", True):
        kwargs["quantization_config"] = Mxfp4Config(dequantize=True)
    model = AutoModelForCausalLM.from_pretrained(spec["name_or_path"], **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(spec["name_or_path"])
    return model, tokenizer


def lora_config(config: dict[str, Any]) -> Any:
    from peft import LoraConfig

    spec = config["lora"]
    return LoraConfig(
        r=spec["r"],
        lora_alpha=spec["lora_alpha"],
        lora_dropout=spec.get("lora_dropout", 0.0),
        target_modules=spec.get("target_modules", "all-linear"),
        target_parameters=spec.get("target_parameters") or None,
        task_type="CAUSAL_LM",
    )


def _trainer_args(method: str, config: dict[str, Any], output_dir: Path, **extra: Any) -> Any:
    import trl

    cls = {"sft": trl.SFTConfig, "dpo": trl.DPOConfig}.get(method, trl.GRPOConfig)
    options = {**config["trainer"], **extra}
    return cls(
        output_dir=str(output_dir / "checkpoints"),
        report_to="none",
        save_total_limit=2,
        **options,
    )


def train(
    method: str,
    config: dict[str, Any],
    *,
    data_dir: Path,
    output_dir: Path,
    checkpoint_dir: Path | None = None,
    tiny: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one adapter; returns the metrics also written to ``metrics.json``."""
    import trl

    started = time.perf_counter()
    train_set, eval_set = load_split(data_dir, method)
    corpus = _texts(train_set) + (_texts(eval_set) if eval_set is not None else [])
    model, tokenizer = load_model_and_tokenizer(config, tiny=tiny, corpus=corpus)
    workdir = checkpoint_dir or output_dir
    args = _trainer_args(method, config, workdir, **(overrides or {}))
    common = {
        "model": model,
        "args": args,
        "train_dataset": train_set,
        "eval_dataset": eval_set,
        "processing_class": tokenizer,
        "peft_config": lora_config(config),
    }
    if method == "sft":
        trainer = trl.SFTTrainer(**common)
    elif method == "dpo":
        trainer = trl.DPOTrainer(**common)  # reference = the base with the adapter disabled
    elif method in GRPO_FAMILY:
        trainer = trl.GRPOTrainer(reward_funcs=[narrative_reward], **common)
    else:
        raise ValueError(f"method {method!r} is not one of sft, dpo, {', '.join(GRPO_FAMILY)}")
    resume = _last_checkpoint(workdir / "checkpoints")
    result = trainer.train(resume_from_checkpoint=resume)
    adapter_dir = output_dir / "adapter"
    trainer.save_model(str(adapter_dir))
    tokenizer.save_pretrained(str(adapter_dir))
    metrics: dict[str, Any] = {
        "method": method,
        "model": config["model"]["name_or_path"] if not tiny else "tiny-random-gpt-oss",
        "global_step": result.global_step,
        "train_loss": result.training_loss,
        "train_runtime_s": round(time.perf_counter() - started, 2),
        "resumed_from": resume,
        "train_rows": len(train_set),
        "eval_rows": len(eval_set) if eval_set is not None else 0,
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "log_history": trainer.state.log_history,
    }
    if method in GRPO_FAMILY:
        metrics["objective"] = {field: getattr(args, field) for field in OBJECTIVE_FIELDS}
    if eval_set is not None and method not in GRPO_FAMILY:
        metrics["eval"] = trainer.evaluate()
    if method in GRPO_FAMILY and eval_set is not None:
        metrics["eval_reward"] = _eval_reward(trainer, tokenizer, eval_set)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    logger.info("trained %s adapter in %.1f s", method, metrics["train_runtime_s"])
    return metrics


EVAL_REWARD_PROMPTS = 64


def _eval_reward(trainer: Any, tokenizer: Any, eval_set: Any) -> Any:
    """Mean reward and parts of one greedy answer per eval prompt (the adapter in place).

    At most :data:`EVAL_REWARD_PROMPTS` prompts, answers as long as the run's
    own ``max_completion_length``.
    """
    import torch
    from stock_agent.customize.reward import score

    model = trainer.model
    max_new = int(trainer.args.max_completion_length)
    parts: list[Any] = []
    for row in eval_set.select(range(min(len(eval_set), EVAL_REWARD_PROMPTS))):
        encoded = tokenizer.apply_chat_template(
            row["prompt"], add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        encoded = {k: v.to(model.device) for k, v in encoded.items()}
        with torch.no_grad():
            out = model.generate(**encoded, max_new_tokens=max_new, do_sample=False)
        text = tokenizer.decode(out[0][encoded["input_ids"].shape[1] :], skip_special_tokens=True)
        parts.append(score(text, json.loads(row["record_json"])))
    n = len(parts)
    return {
        "prompts": n,
        "reward": sum(p.total for p in parts) / n,
        "faithfulness": sum(p.faithfulness for p in parts) / n,
        "coverage": sum(p.coverage for p in parts) / n,
        "format": sum(p.format for p in parts) / n,
    }


def _last_checkpoint(folder: Path) -> str | None:
    """Resume a spot-interrupted job from the newest checkpoint SageMaker restored."""
    if not folder.is_dir():
        return None
    found = sorted(
        (p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
    )
    return str(found[-1]) if found else None
