"""The per-method hyperparameter files: valid as shipped, every rule pinned at its edge.

Standard library only (no torch): the same validation runs before a job is
submitted and inside it.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from training import config as training_config
from training.config import METHODS, TrainingConfigError, load, validate

RECIPE_EXPERTS = {
    f"{layer}.mlp.experts.{proj}" for layer in (7, 15, 23) for proj in ("gate_up_proj", "down_proj")
}


@pytest.mark.parametrize("method", METHODS)
def test_shipped_configs_follow_the_gpt_oss_recipe(method: str) -> None:
    config = load(method)
    assert config["model"] == {
        "name_or_path": "openai/gpt-oss-20b",
        "dequantize_mxfp4": True,
        "dtype": "bfloat16",
        "attn_implementation": "eager",
    }
    lora = config["lora"]
    assert (lora["r"], lora["lora_alpha"], lora["target_modules"]) == (8, 16, "all-linear")
    assert set(lora["target_parameters"]) == RECIPE_EXPERTS


def _with(method: str, path: str, value: Any) -> dict[str, Any]:
    config = copy.deepcopy(load(method))
    *parents, leaf = path.split(".")
    node = config
    for key in parents:
        node = node[key]
    node[leaf] = value
    return config


@pytest.mark.parametrize(("value", "ok"), [(1, True), (64, True), (0, False), (65, False),
                                           (True, False), (8.0, False)])  # fmt: skip
def test_lora_rank_edges(value: Any, ok: bool) -> None:
    config = _with("sft", "lora.r", value)
    if ok:
        assert validate(config, method="sft")["lora"]["r"] == value
    else:
        with pytest.raises(TrainingConfigError, match=r"lora\.r="):
            validate(config, method="sft")


@pytest.mark.parametrize(("value", "ok"), [(0.0, True), (0.99, True), (1.0, False), (-0.1, False)])
def test_lora_dropout_edges(value: float, ok: bool) -> None:
    config = _with("dpo", "lora.lora_dropout", value)
    if ok:
        validate(config, method="dpo")
    else:
        with pytest.raises(TrainingConfigError, match=r"lora\.lora_dropout"):
            validate(config, method="dpo")


@pytest.mark.parametrize(
    ("batch", "accumulation", "generations", "ok"),
    [(8, 2, 8, True), (4, 2, 8, True), (3, 2, 8, False), (2, 1, 2, True), (2, 1, 1, False)],
)
def test_grpo_batch_must_hold_whole_groups(
    batch: int, accumulation: int, generations: int, ok: bool
) -> None:
    config = _with("grpo", "trainer.per_device_train_batch_size", batch)
    config["trainer"]["gradient_accumulation_steps"] = accumulation
    config["trainer"]["num_generations"] = generations
    if ok:
        validate(config, method="grpo")
    else:
        with pytest.raises(TrainingConfigError, match=r"trainer\.(per_device|num_generations)"):
            validate(config, method="grpo")


@pytest.mark.parametrize(
    ("method", "path", "value", "names"),
    [
        ("sft", "trainer.beta", 0.1, "trainer.beta"),  # a DPO/GRPO knob in an SFT file
        ("sft", "trainer.max_length", True, "trainer.max_length"),
        ("dpo", "trainer.learning_rate", 1.0, "trainer.learning_rate"),
        ("dpo", "trainer.learning_rate", 0, "trainer.learning_rate"),
        ("grpo", "trainer.logging_steps", 0, "trainer.logging_steps"),
        ("sft", "model.dtype", "float16", "model.dtype"),
        ("sft", "lora.target_parameters", ["7.mlp.router"], "lora.target_parameters"),
        ("sft", "method", "dpo", "method"),
    ],
)
def test_bad_values_are_refused_by_name(method: str, path: str, value: Any, names: str) -> None:
    with pytest.raises(TrainingConfigError, match=names.replace(".", r"\.")):
        validate(_with(method, path, value), method=method)


def test_unreadable_or_unknown_files_are_refused(tmp_path: Any) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("[]")
    with pytest.raises(TrainingConfigError, match="expected a JSON object"):
        load("sft", bad)
    with pytest.raises(TrainingConfigError, match="cannot read"):
        load("sft", tmp_path / "missing.json")
    with pytest.raises(TrainingConfigError, match="method='ppo'"):
        training_config.validate({}, method="ppo")
