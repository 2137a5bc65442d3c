"""Adapters the pinned vLLM cannot serve on gpt-oss are refused at container start, by name.

The adapters here are real files: ``adapter_config.json`` as PEFT writes it
and ``adapter_model.safetensors`` in the safetensors format (header plus zero
data), with the tensor names and shapes PEFT writes for the recipe (checked
against a real PEFT save in ``make train-smoke``). vLLM itself needs a GPU;
what it would do with each adapter is quoted from its source in
docs/model-container.md.
"""

from __future__ import annotations

import json
import logging
import math
import struct
from pathlib import Path
from typing import Any

import pytest

from tests.unit.model_container.test_serve import serve

lora_support = serve.lora_support
SMALL = lora_support.GptOssDims(
    hidden_size=16, intermediate_size=24, num_local_experts=4, num_hidden_layers=24
)
RANK = 8
PREFIX = "base_model.model.model.layers"


def write_safetensors(path: Path, shapes: dict[str, list[int]]) -> None:
    """A valid safetensors file: little-endian header length, JSON header, zero BF16 data."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in shapes.items():
        size = math.prod(shape) * 2
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)) + encoded)
        handle.truncate(8 + len(encoded) + offset)  # zero data, sparse on disk


def recipe_tensors(dims: lora_support.GptOssDims, *, expert_layers: tuple[int, ...] = (7,)) -> dict:
    """Names and shapes PEFT writes for the recipe: attention everywhere, experts on some layers."""
    tensors: dict[str, list[int]] = {}
    for layer in range(2):
        for module in lora_support.ATTENTION_MODULES:
            tensors[f"{PREFIX}.{layer}.self_attn.{module}.lora_A.weight"] = [RANK, dims.hidden_size]
            tensors[f"{PREFIX}.{layer}.self_attn.{module}.lora_B.weight"] = [dims.hidden_size, RANK]
    stacked = RANK * dims.num_local_experts
    for layer in expert_layers:
        experts = f"{PREFIX}.{layer}.mlp.experts"
        tensors[f"{experts}.base_layer.lora_A.weight"] = [stacked, dims.hidden_size]
        tensors[f"{experts}.base_layer.lora_B.weight"] = [2 * dims.intermediate_size, stacked]
        tensors[f"{experts}.lora_A.weight"] = [stacked, dims.intermediate_size]
        tensors[f"{experts}.lora_B.weight"] = [dims.hidden_size, stacked]
    return tensors


def recipe_config(**changes: Any) -> dict[str, Any]:
    """``adapter_config.json`` as PEFT saves the recipe (target_modules resolved to a list)."""
    config: dict[str, Any] = {
        "peft_type": "LORA", "r": RANK, "lora_alpha": 16, "bias": "none", "use_dora": False,
        "modules_to_save": None, "rank_pattern": {}, "alpha_pattern": {},
        "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
        "target_parameters": ["7.mlp.experts.gate_up_proj", "7.mlp.experts.down_proj"],
    }  # fmt: skip
    return {**config, **changes}


def write_adapter(folder: Path, config: dict[str, Any], tensors: dict[str, list[int]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps(config))
    write_safetensors(folder / "adapter_model.safetensors", tensors)
    return folder


def test_the_recipes_layout_is_servable() -> None:
    assert lora_support.tensor_problems(recipe_tensors(SMALL), rank=RANK, dims=SMALL) == []
    assert lora_support.adapter_problems(recipe_config(), num_layers=24) == []


def test_safetensors_header_is_read_without_the_data(tmp_path: Path) -> None:
    tensors = recipe_tensors(lora_support.GPT_OSS_20B)
    write_safetensors(tmp_path / "a.safetensors", tensors)
    assert lora_support.safetensors_shapes(tmp_path / "a.safetensors") == tensors
    (tmp_path / "b.safetensors").write_bytes(b"\xff" * 16)
    with pytest.raises(ValueError, match="not a safetensors file"):
        lora_support.safetensors_shapes(tmp_path / "b.safetensors")
    (tmp_path / "c.safetensors").write_bytes(b"\x01")
    with pytest.raises(ValueError, match="too short"):
        lora_support.safetensors_shapes(tmp_path / "c.safetensors")


def _drop(tensors: dict[str, list[int]], fragment: str) -> dict[str, list[int]]:
    return {k: v for k, v in tensors.items() if fragment not in k}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        # down_proj alone: PEFT saves it as `experts.lora_*` without a base_layer; vLLM asserts.
        (lambda t: _drop(t, "base_layer"), "needs gate_up_proj (experts.base_layer) and down_proj"),
        (lambda t: _drop(t, "experts.lora_B"), "down_proj: lora_B missing"),
        (lambda t: {**t, f"{PREFIX}.3.mlp.router.lora_A.weight": [RANK, 16]}, "not one vLLM's"),
        (lambda t: {**t, "base_model.model.lm_head.lora_A.weight": [RANK, 16]}, "not one vLLM's"),
        (
            lambda t: {
                **t,
                f"{PREFIX}.24.self_attn.q_proj.lora_A.weight": [RANK, 16],
                f"{PREFIX}.24.self_attn.q_proj.lora_B.weight": [16, RANK],
            },
            "the model has 24 layers",
        ),
        (lambda t: {**t, f"{PREFIX}.0.self_attn.q_proj.lora_A.weight": [16, 16]}, "not rank 8"),
        (lambda t: {}, "holds no LoRA tensors"),
    ],
)
def test_unservable_tensors_are_named(mutate: Any, message: str) -> None:
    problems = lora_support.tensor_problems(mutate(recipe_tensors(SMALL)), rank=RANK, dims=SMALL)
    assert any(message in p for p in problems), problems


def test_expert_weights_read_in_the_other_orientation_are_caught() -> None:
    """[experts, out, in] instead of gpt-oss's [experts, in, out]: in and out swap."""
    tensors = recipe_tensors(SMALL)
    experts = f"{PREFIX}.7.mlp.experts"
    stacked = RANK * SMALL.num_local_experts
    tensors[f"{experts}.base_layer.lora_A.weight"] = [stacked, 2 * SMALL.intermediate_size]
    tensors[f"{experts}.base_layer.lora_B.weight"] = [SMALL.hidden_size, stacked]
    problems = lora_support.tensor_problems(tensors, rank=RANK, dims=SMALL)
    assert len(problems) == 2 and all("[experts, out, in]" in p for p in problems)


def test_on_gpt_oss_20b_only_gate_up_reveals_a_transposed_adapter() -> None:
    """hidden_size == intermediate_size == 2880: a swapped down_proj has the same shape."""
    dims = lora_support.GPT_OSS_20B
    tensors = recipe_tensors(dims)
    experts = f"{PREFIX}.7.mlp.experts"
    stacked = RANK * dims.num_local_experts
    # down_proj read as [experts, out, in]: in = hidden_size, out = intermediate_size
    swapped = {**tensors, f"{experts}.lora_A.weight": [stacked, dims.hidden_size],
               f"{experts}.lora_B.weight": [dims.intermediate_size, stacked]}  # fmt: skip
    assert lora_support.tensor_problems(swapped, rank=RANK, dims=dims) == []
    swapped[f"{experts}.base_layer.lora_A.weight"] = [stacked, 2 * dims.intermediate_size]
    assert lora_support.tensor_problems(swapped, rank=RANK, dims=dims)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"modules_to_save": ["lm_head"]}, "modules_to_save"),
        ({"use_dora": True}, "DoRA"),
        ({"bias": "lora_only"}, "adapter bias"),
        ({"lora_bias": True}, "adapter bias"),
        ({"rank_pattern": {"q_proj": 16}}, "rank_pattern"),
        ({"alpha_pattern": {"q_proj": 32}}, "alpha_pattern"),
        ({"peft_type": "IA3"}, "LoRA adapters only"),
        ({"r": 0}, "r=0"),
        ({"r": 513}, "r=513"),
        ({"target_modules": ["q_proj", "router"]}, "target_modules ['router']"),
        ({"target_modules": ".*proj"}, "a pattern cannot be checked"),
        ({"target_parameters": ["7.mlp.experts.gate_up_proj"]}, "without down_proj"),
        ({"target_parameters": ["mlp.experts.down_proj"]}, "every layer adapt down_proj"),
        ({"target_parameters": ["7.mlp.router.weight"]}, "expert LoRA only on"),
        (
            {"target_parameters": ["24.mlp.experts.gate_up_proj", "24.mlp.experts.down_proj"]},
            "has 24 layers",
        ),
    ],
)
def test_unservable_configs_are_named(changes: dict[str, Any], message: str) -> None:
    problems = lora_support.adapter_problems(recipe_config(**changes), num_layers=24)
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize(
    ("targets", "ok"),
    [
        (["23.mlp.experts.gate_up_proj", "23.mlp.experts.down_proj"], True),  # last layer
        (["24.mlp.experts.gate_up_proj", "24.mlp.experts.down_proj"], False),  # one past it
        (["mlp.experts.gate_up_proj", "mlp.experts.down_proj"], True),  # every layer
        ([], True),  # attention only
    ],
)
def test_expert_layer_index_edges(targets: list[str], ok: bool) -> None:
    assert (lora_support.target_problems("all-linear", targets, num_layers=24) == []) is ok


# --------------------------------------------------------------------------- container start


def _model_dir(tmp_path: Path, architectures: list[str]) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    config = {"architectures": architectures, "hidden_size": SMALL.hidden_size,
              "intermediate_size": SMALL.intermediate_size,
              "num_local_experts": SMALL.num_local_experts,
              "num_hidden_layers": SMALL.num_hidden_layers}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _start(tmp_path: Path, adapter: Path, *, architectures: list[str]) -> tuple[int, list]:
    """serve.py's main() with the real filesystem; the exec is recorded, not run."""
    model = _model_dir(tmp_path, architectures)
    env = {"OPTION_MODEL": str(model), "OPTION_LORA_MODULES": f"narrator={adapter}",
           "TIKTOKEN_ENCODINGS_BASE": str(tmp_path)}  # fmt: skip
    started: list = []
    try:
        code = serve.main(["serve"], environ=env, execvpe=lambda *a: started.append(a))
    except SystemExit as stop:
        code = int(stop.code or 0)
    return code, started


def test_a_servable_adapter_starts_vllm(tmp_path: Path) -> None:
    adapter = write_adapter(tmp_path / "ok", recipe_config(), recipe_tensors(SMALL))
    code, started = _start(tmp_path, adapter, architectures=["GptOssForCausalLM"])
    assert code == 0 and started and "--lora-modules" in started[0][1]


def test_an_unservable_adapter_stops_the_start_naming_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tensors = _drop(recipe_tensors(SMALL), "base_layer")
    config = recipe_config(target_parameters=["7.mlp.experts.down_proj"])
    adapter = write_adapter(tmp_path / "half", config, tensors)
    with caplog.at_level(logging.ERROR, logger="model_container.serve"):
        code, started = _start(tmp_path, adapter, architectures=["GptOssForCausalLM"])
    assert code == 2 and not started
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert line.startswith("adapter 'narrator' cannot be served by vLLM 0.30.0 on gpt-oss: ")
    assert "without gate_up_proj" in line and "more)" in line


def test_adapter_checks_apply_to_gpt_oss_only(tmp_path: Path) -> None:
    adapter = write_adapter(tmp_path / "other", recipe_config(target_modules=["gate_proj"]), {})
    code, started = _start(tmp_path, adapter, architectures=["LlamaForCausalLM"])
    assert code == 0 and started


def test_the_default_hub_model_is_checked_with_gpt_oss_20b_sizes() -> None:
    assert serve.base_dims("openai/gpt-oss-20b") == (True, lora_support.GPT_OSS_20B)
    assert serve.base_dims("openai/gpt-oss-120b") == (True, None)  # names checked, not shapes
    assert serve.base_dims("meta-llama/Llama-3.1-8B") == (False, None)


def test_the_pinned_version_matches_the_dockerfile() -> None:
    dockerfile = Path(serve.__file__).with_name("Dockerfile").read_text()
    assert f"vllm/vllm-openai:v{lora_support.VLLM_VERSION}@sha256:" in dockerfile


# --------------------------------------------------------------------------- serving flags


def test_lora_flags_appear_only_with_adapters() -> None:
    plain = serve.build_plan({}).argv
    assert "--compilation-config" not in plain and "--moe-backend" not in plain
    argv = serve.build_plan({"OPTION_LORA_MODULES": "a=/adapters/a"}).argv
    assert argv[argv.index("--compilation-config") + 1] == '{"cudagraph_mode":"PIECEWISE"}'
    assert argv[argv.index("--moe-backend") + 1] == "marlin"


def test_operator_compilation_config_is_kept_and_given_piecewise_graphs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {"OPTION_LORA_MODULES": "a=/adapters/a", "OPTION_MOE_BACKEND": "triton",
           "OPTION_COMPILATION_CONFIG": '{"max_cudagraph_capture_size": 64}'}  # fmt: skip
    argv = serve.build_plan(env).argv
    config = json.loads(argv[argv.index("--compilation-config") + 1])
    assert config == {"max_cudagraph_capture_size": 64, "cudagraph_mode": "PIECEWISE"}
    assert argv[argv.index("--moe-backend") + 1] == "triton"
    env["OPTION_COMPILATION_CONFIG"] = '{"cudagraph_mode": "FULL_AND_PIECEWISE"}'
    with caplog.at_level(logging.WARNING, logger="model_container.serve"):
        argv = serve.build_plan(env).argv
    assert json.loads(argv[argv.index("--compilation-config") + 1]) == {
        "cudagraph_mode": "FULL_AND_PIECEWISE"
    }
    assert any("upstream's gpt-oss LoRA runs used PIECEWISE" in r.message for r in caplog.records)


@pytest.mark.parametrize("value", ["{not json", "[1, 2]", '"PIECEWISE"'])
def test_compilation_config_must_be_a_json_object(value: str) -> None:
    with pytest.raises(serve.ConfigError, match=r"SM_VLLM_COMPILATION_CONFIG=.*a JSON object"):
        serve.build_plan({"SM_VLLM_COMPILATION_CONFIG": value})
