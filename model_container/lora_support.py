"""Which LoRA adapters the pinned vLLM can serve on gpt-oss, checked before vLLM sees them.

vLLM (the image's pinned release, :data:`VLLM_VERSION`) loads a gpt-oss
adapter lazily and fails late and obscurely on what it cannot serve: an
``AssertionError`` inside the worker when an expert layer has only one of its
two projections, a shape mismatch when the expert weights were read in the
wrong orientation, silently dropped scaling when ``rank_pattern`` is used.
These checks turn each of those into one sentence naming the adapter, at
container start (``serve.py``) and at training-config time
(``training/config.py`` loads this file by path), so a training run cannot
produce an adapter the endpoint will refuse.

What vLLM's gpt-oss LoRA path accepts (``GptOssForCausalLM`` with
``is_3d_moe_weight = True``, ``vllm/lora/model_manager.py`` and
``vllm/lora/lora_model.py`` of that release; docs/model-container.md quotes
them):

- attention: ``q_proj``, ``k_proj``, ``v_proj`` (packed into ``qkv_proj``)
  and ``o_proj``;
- experts: PEFT's ``target_parameters`` layout, where ``experts.base_layer``
  holds ``gate_up_proj`` and ``experts`` holds ``down_proj``; both must be
  present in every adapted layer (vLLM asserts it);
- no ``modules_to_save``, no DoRA, no adapter bias; ``rank_pattern`` and
  ``alpha_pattern`` are ignored by vLLM, so an adapter using them is refused.

Standard library only: this runs in the vLLM image and in the training
launcher without torch.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VLLM_VERSION = "0.30.0"  # keep in step with the Dockerfile's FROM tag
ATTENTION_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
EXPERT_PARAMETERS = ("gate_up_proj", "down_proj")
# vLLM's accepted --max-lora-rank values (LoRAConfig.max_lora_rank).
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
ARCHITECTURE = "GptOssForCausalLM"
_EXPERT_TARGET = re.compile(r"(?:(\d+)\.)?mlp\.experts\.(gate_up_proj|down_proj)")
_KEY = re.compile(
    r"base_model\.model\.model\.layers\.(\d+)\."
    r"(?:self_attn\.(q_proj|k_proj|v_proj|o_proj)|mlp\.experts(\.base_layer)?)"
    r"\.lora_([AB])\.weight"
)
_HEADER_LIMIT = 64 * 1024 * 1024  # a safetensors header larger than this is not an adapter


@dataclass(frozen=True)
class GptOssDims:
    """The base model's sizes an expert adapter's tensors must match."""

    hidden_size: int
    intermediate_size: int
    num_local_experts: int
    num_hidden_layers: int


# openai/gpt-oss-20b's config.json.
GPT_OSS_20B = GptOssDims(
    hidden_size=2880, intermediate_size=2880, num_local_experts=32, num_hidden_layers=24
)


def dims_from_config(config: Mapping[str, Any]) -> GptOssDims | None:
    """The sizes in a model's ``config.json``; ``None`` when it is not a gpt-oss model."""
    if ARCHITECTURE not in (config.get("architectures") or []):
        return None
    try:
        return GptOssDims(
            hidden_size=int(config["hidden_size"]),
            intermediate_size=int(config["intermediate_size"]),
            num_local_experts=int(config["num_local_experts"]),
            num_hidden_layers=int(config["num_hidden_layers"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def target_problems(
    target_modules: str | Iterable[str] | None,
    target_parameters: Iterable[str] | None,
    *,
    num_layers: int | None = None,
) -> list[str]:
    """What vLLM cannot serve among these PEFT targets (empty when all is servable).

    ``target_modules="all-linear"`` is accepted: on gpt-oss in Transformers 5
    it resolves to the attention projections only (the router is not an
    ``nn.Linear`` and PEFT never adapts the output layer), which the saved
    ``adapter_config.json`` lists and :func:`adapter_problems` checks again.
    """
    problems: list[str] = []
    if isinstance(target_modules, str):
        if target_modules != "all-linear":
            problems.append(
                f"target_modules={target_modules!r}: a pattern cannot be checked; list module "
                f"names from {', '.join(ATTENTION_MODULES)} or use 'all-linear'"
            )
    else:
        unknown = sorted(set(target_modules or ()) - set(ATTENTION_MODULES))
        if unknown:
            problems.append(
                f"target_modules {unknown}: vLLM {VLLM_VERSION} serves LoRA on gpt-oss only for "
                f"{', '.join(ATTENTION_MODULES)} and the experts (through target_parameters)"
            )
    per_layer: dict[str, set[str]] = {}
    for target in target_parameters or ():
        match = _EXPERT_TARGET.fullmatch(target) if isinstance(target, str) else None
        if match is None:
            problems.append(
                f"target_parameters entry {target!r}: vLLM serves expert LoRA only on "
                "'[<layer>.]mlp.experts.gate_up_proj' and '[<layer>.]mlp.experts.down_proj'"
            )
            continue
        layer = match[1] or "every layer"
        if num_layers is not None and match[1] is not None and int(match[1]) >= num_layers:
            problems.append(
                f"target_parameters entry {target!r}: the model has {num_layers} layers"
            )
        per_layer.setdefault(layer, set()).add(match[2])
    for layer, found in sorted(per_layer.items()):
        if found != set(EXPERT_PARAMETERS):
            missing = sorted(set(EXPERT_PARAMETERS) - found)[0]
            problems.append(
                f"experts of {'layer ' + layer if layer.isdigit() else layer} adapt "
                f"{sorted(found)[0]} without {missing}: vLLM {VLLM_VERSION} needs both expert "
                "projections of a layer (it asserts on the missing one)"
            )
    return problems


def adapter_problems(config: Mapping[str, Any], *, num_layers: int | None = None) -> list[str]:
    """What vLLM cannot serve in an ``adapter_config.json`` (empty when all is servable)."""
    problems: list[str] = []
    if config.get("peft_type", "LORA") != "LORA":
        problems.append(f"peft_type={config.get('peft_type')!r}: vLLM serves LoRA adapters only")
    rank = config.get("r")
    if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= max(LORA_RANKS):
        problems.append(f"r={rank!r}: expected an integer in [1, {max(LORA_RANKS)}]")
    if config.get("modules_to_save"):
        problems.append("modules_to_save is set: vLLM only serves adapters without it")
    if config.get("use_dora"):
        problems.append("use_dora is true: vLLM does not serve DoRA")
    if config.get("bias", "none") != "none" or config.get("lora_bias"):
        problems.append("the adapter trains biases: vLLM does not serve adapter bias")
    for field in ("rank_pattern", "alpha_pattern"):
        if config.get(field):
            problems.append(f"{field} is set: vLLM ignores it and would serve a wrong scaling")
    problems += target_problems(
        config.get("target_modules"), config.get("target_parameters"), num_layers=num_layers
    )
    return problems


def tensor_problems(
    shapes: Mapping[str, list[int]], *, rank: int, dims: GptOssDims | None
) -> list[str]:
    """What vLLM cannot load among an adapter's tensors (names and shapes only).

    ``dims`` (the base model's sizes) enables the shape checks of the expert
    tensors: vLLM reshapes ``lora_A`` to (experts, rank, in) and ``lora_B`` to
    (out, rank, experts), so an adapter whose expert weights were read in the
    other orientation fails there. When ``hidden_size`` equals
    ``intermediate_size`` (gpt-oss-20b) a transposed ``down_proj`` has the
    same shape and only the ``gate_up_proj`` check can catch it.
    """
    problems: list[str] = []
    seen: dict[tuple[str, str], set[str]] = {}  # (layer, module) -> {"A", "B"}
    for key, shape in sorted(shapes.items()):
        match = _KEY.fullmatch(key)
        if match is None:
            problems.append(f"tensor {key!r} is not one vLLM's gpt-oss LoRA loader serves")
            continue
        layer, attention, base_layer, side = match.groups()
        module = attention or ("gate_up_proj" if base_layer else "down_proj")
        seen.setdefault((layer, module), set()).add(side)
        if dims is not None and int(layer) >= dims.num_hidden_layers:
            problems.append(f"tensor {key!r}: the model has {dims.num_hidden_layers} layers")
        if module in ATTENTION_MODULES:
            # (rank, in) and (out, rank); head sizes vary, vLLM checks those itself
            if len(shape) != 2 or shape[0 if side == "A" else 1] != rank:
                problems.append(f"tensor {key!r} has shape {list(shape)}, not rank {rank}")
            continue
        expected = _expected_shape(module, side, rank=rank, dims=dims)
        if expected is not None and list(shape) != list(expected):
            problems.append(
                f"tensor {key!r} has shape {list(shape)}, vLLM expects {list(expected)}"
                + " (expert weights read as [experts, out, in]? train with the pinned "
                "transformers and peft, which read gpt-oss experts as [experts, in, out])"
            )
    for (layer, module), sides in sorted(seen.items()):
        if sides != {"A", "B"}:
            problems.append(f"layer {layer} {module}: lora_{'B' if 'A' in sides else 'A'} missing")
    expert_layers = {layer for layer, module in seen if module in EXPERT_PARAMETERS}
    for layer in sorted(expert_layers, key=int):
        present = {module for lay, module in seen if lay == layer and module in EXPERT_PARAMETERS}
        if present != set(EXPERT_PARAMETERS):
            problems.append(
                f"layer {layer} experts carry only {sorted(present)[0]}: vLLM {VLLM_VERSION} "
                "needs gate_up_proj (experts.base_layer) and down_proj (experts) together"
            )
    if not seen and not problems:
        problems.append("the adapter holds no LoRA tensors")
    return problems


def _expected_shape(
    module: str, side: str, *, rank: int, dims: GptOssDims | None
) -> tuple[int, int] | None:
    """(rows, columns) of an expert tensor as vLLM reshapes it; ``None`` without ``dims``."""
    if dims is None:
        return None
    stacked = rank * dims.num_local_experts
    if module == "gate_up_proj":
        return (stacked, dims.hidden_size) if side == "A" else (2 * dims.intermediate_size, stacked)
    return (stacked, dims.intermediate_size) if side == "A" else (dims.hidden_size, stacked)


def safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor name → shape from a ``.safetensors`` header (the data is not read).

    Raises ``ValueError`` when the file is not a safetensors file.
    """
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) != 8:
            raise ValueError(f"{path.name} is too short for a safetensors file")
        (length,) = struct.unpack("<Q", head)
        if not 2 <= length <= _HEADER_LIMIT:
            raise ValueError(f"{path.name} has a {length}-byte header: not a safetensors file")
        header = json.loads(handle.read(length))
    if not isinstance(header, dict):
        raise ValueError(f"{path.name} header is not a JSON object")
    return {
        name: list(entry["shape"])
        for name, entry in header.items()
        if name != "__metadata__" and isinstance(entry, dict) and "shape" in entry
    }


def check_adapter_dir(folder: Path, *, dims: GptOssDims | None) -> list[str]:
    """Every problem of the adapter in ``folder`` (config and tensors); empty when servable."""
    config_file = folder / "adapter_config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"unreadable adapter_config.json ({exc})"]
    if not isinstance(config, dict):
        return ["adapter_config.json is not a JSON object"]
    problems = adapter_problems(config, num_layers=dims.num_hidden_layers if dims else None)
    weights = folder / "adapter_model.safetensors"
    if not weights.is_file():
        return [*problems, "adapter_model.safetensors missing (only safetensors adapters are read)"]
    try:
        shapes = safetensors_shapes(weights)
    except (OSError, ValueError) as exc:
        return [*problems, f"unreadable adapter_model.safetensors ({exc})"]
    rank = config.get("r")
    if isinstance(rank, int) and not isinstance(rank, bool):
        problems += tensor_problems(shapes, rank=rank, dims=dims)
    return problems
