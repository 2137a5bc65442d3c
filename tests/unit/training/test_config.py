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


def _accepted(config: dict[str, Any], method: str, *, ok: bool, refusal: str) -> None:
    """``config`` validates when ``ok``; otherwise it is refused with ``refusal`` (a regex)."""
    if ok:
        validate(config, method=method)
        return
    with pytest.raises(TrainingConfigError, match=refusal):
        validate(config, method=method)


@pytest.mark.parametrize(("value", "ok"), [(1, True), (64, True), (0, False), (65, False),
                                           (True, False), (8.0, False)])  # fmt: skip
def test_lora_rank_edges(value: Any, ok: bool) -> None:
    config = _with("sft", "lora.r", value)
    if ok:
        assert validate(config, method="sft")["lora"]["r"] == value
    else:
        with pytest.raises(TrainingConfigError, match=r"lora\.r="):
            validate(config, method="sft")


@pytest.mark.parametrize(
    ("value", "experts", "ok"),
    [(0.0, False, True), (0.99, False, True), (1.0, False, False), (-0.1, False, False),
     (0.0, True, True), (0.01, True, False)],  # PEFT's expert wrapper refuses any dropout
)  # fmt: skip
def test_lora_dropout_edges(value: float, experts: bool, ok: bool) -> None:
    config = _with("dpo", "lora.lora_dropout", value)
    if not experts:
        config["lora"]["target_parameters"] = []
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


# --------------------------------------------------------------------------- GRPO, DAPO, GSPO


def test_the_grpo_family_shares_the_grpo_dataset() -> None:
    assert training_config.GRPO_FAMILY == ("grpo", "dapo", "gspo")
    assert [training_config.dataset_of(m) for m in METHODS] == [
        "sft", "dpo", "grpo", "grpo", "grpo"
    ]  # fmt: skip


def test_each_recipe_carries_its_papers_defining_settings() -> None:
    """The values docs/customization.md cites (DAPO: arXiv 2503.14476; GSPO: 2507.18071)."""
    grpo, dapo, gspo = (load(m)["trainer"] for m in ("grpo", "dapo", "gspo"))
    assert (grpo["loss_type"], grpo["importance_sampling_level"], grpo["epsilon"]) == (
        "grpo", "token", 0.2
    )  # fmt: skip
    assert "epsilon_high" not in grpo and "steps_per_generation" not in grpo
    assert (dapo["loss_type"], dapo["importance_sampling_level"]) == ("dapo", "token")
    assert (dapo["epsilon"], dapo["epsilon_high"], dapo["beta"]) == (0.2, 0.28, 0.0)
    assert dapo["mask_truncated_completions"] is True  # overlong filtering
    assert (gspo["loss_type"], gspo["importance_sampling_level"]) == ("grpo", "sequence")
    assert (gspo["epsilon"], gspo["epsilon_high"], gspo["beta"]) == (3e-4, 4e-4, 0.0)
    # four mini-batches per rollout, as the GSPO paper partitions its batches
    assert gspo["steps_per_generation"] == 4 * gspo["gradient_accumulation_steps"]
    for trainer in (dapo, gspo):  # same reward, data, sizes and schedule as GRPO
        shared = {k: trainer[k] for k in ("learning_rate", "num_generations", "max_steps",
                                          "max_completion_length", "temperature")}  # fmt: skip
        assert shared == {k: grpo[k] for k in shared}


@pytest.mark.parametrize(
    ("method", "key", "value", "message"),
    [
        ("dapo", "loss_type", "grpo", "'dapo' (the dapo recipe)"),
        ("dapo", "importance_sampling_level", "sequence", "'token' (the dapo recipe)"),
        ("gspo", "loss_type", "dapo", "'grpo' (the gspo recipe)"),  # TRL: length-weighted
        ("gspo", "importance_sampling_level", "token", "'sequence' (the gspo recipe)"),
        ("grpo", "loss_type", "dapo", "'grpo' (the grpo recipe)"),
        ("grpo", "loss_type", "ppo", "grpo | dr_grpo | dapo"),
        ("gspo", "importance_sampling_level", "seq", "token | sequence"),
        ("dapo", "scale_rewards", "std", "group | batch | none"),
        ("dapo", "mask_truncated_completions", "yes", "a bool"),
        ("grpo", "epsilon_high", 1, "a float"),
    ],
)
def test_bad_objective_settings_are_refused_by_name(
    method: str, key: str, value: Any, message: str
) -> None:
    with pytest.raises(TrainingConfigError, match=rf"trainer\.{key}=") as caught:
        validate(_with(method, f"trainer.{key}", value), method=method)
    assert message in str(caught.value)


def test_a_missing_loss_type_is_refused_not_left_to_trls_default() -> None:
    """TRL 1.16's default loss_type is "dapo": an unnamed loss would make GRPO train DAPO."""
    config = load("grpo")
    del config["trainer"]["loss_type"]
    with pytest.raises(TrainingConfigError, match=r"trainer\.loss_type=None"):
        validate(config, method="grpo")


@pytest.mark.parametrize(("high", "ok"), [(0.28, True), (0.2001, True), (0.2, False)])
def test_dapo_clips_higher_than_lower(high: float, ok: bool) -> None:
    config = _with("dapo", "trainer.epsilon_high", high)
    _accepted(config, "dapo", ok=ok, refusal=r"epsilon_high=0\.2 .*clip-higher")


@pytest.mark.parametrize(("low", "high", "ok"), [(0.2, 0.2, True), (0.2, 0.19, False),
                                                 (1.0, 1.0, False), (0.0, 0.1, False)])  # fmt: skip
def test_grpo_clipping_range_edges(low: float, high: float, ok: bool) -> None:
    config = _with("grpo", "trainer.epsilon", low)
    config["trainer"]["epsilon_high"] = high
    _accepted(config, "grpo", ok=ok, refusal=r"trainer\.epsilon")


@pytest.mark.parametrize(
    ("steps", "iterations", "ok"),
    [(8, 1, True), (4, 1, True), (2, 1, False), (2, 2, True), (None, 1, False)],
)
def test_gspo_must_update_off_policy(steps: int | None, iterations: int, ok: bool) -> None:
    """gradient_accumulation_steps is 2: with steps_per_generation <= 2 every ratio is 1."""
    config = _with("gspo", "trainer.num_iterations", iterations)
    if steps is None:
        del config["trainer"]["steps_per_generation"]
    else:
        config["trainer"]["steps_per_generation"] = steps
    _accepted(config, "gspo", ok=ok, refusal="only differs from 1 off-policy")


@pytest.mark.parametrize(("steps", "ok"), [(8, True), (1, True), (0, False)])
def test_generation_batch_holds_whole_groups(steps: int, ok: bool) -> None:
    """per_device 8 x steps_per_generation completions must split into groups of 8."""
    config = _with("dapo", "trainer.steps_per_generation", steps)
    _accepted(config, "dapo", ok=ok, refusal=r"trainer\.steps_per_generation")
    config = _with("dapo", "trainer.per_device_train_batch_size", 3)
    config["trainer"]["steps_per_generation"] = 2  # 6 completions: not whole groups of 8
    with pytest.raises(TrainingConfigError, match="divisible by num_generations=8"):
        validate(config, method="dapo")


def test_an_unknown_method_is_refused_with_the_methods() -> None:
    with pytest.raises(
        TrainingConfigError, match=r"method='ppo' .*sft \| dpo \| grpo \| dapo \| gspo"
    ):
        validate(load("grpo"), method="ppo")


# --------------------------------------------------------------------------- servable adapters


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("lora.target_modules", ["q_proj", "router"], "target_modules ['router']"),
        ("lora.target_modules", ["lm_head"], "target_modules ['lm_head']"),
        ("lora.target_parameters", ["7.mlp.experts.gate_up_proj"], "without down_proj"),
        ("lora.target_parameters", ["7.mlp.router.weight"], "expert LoRA only on"),
        (
            "lora.target_parameters",
            ["24.mlp.experts.gate_up_proj", "24.mlp.experts.down_proj"],
            "the model has 24 layers",
        ),
    ],
)
def test_targets_the_endpoint_cannot_serve_are_refused_at_config_time(
    path: str, value: Any, message: str
) -> None:
    """The same rules the model container applies to the saved adapter (lora_support.py)."""
    with pytest.raises(TrainingConfigError, match=path.replace(".", r"\.")) as caught:
        validate(_with("sft", path, value), method="sft")
    assert message in str(caught.value)


def test_attention_only_and_last_layer_experts_are_servable() -> None:
    validate(_with("sft", "lora.target_parameters", []), method="sft")
    validate(_with("sft", "lora.target_modules", ["q_proj", "v_proj"]), method="sft")
    last = ["23.mlp.experts.gate_up_proj", "23.mlp.experts.down_proj"]
    validate(_with("grpo", "lora.target_parameters", last), method="grpo")
