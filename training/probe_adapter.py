"""A LoRA adapter with gpt-oss-20b's exact tensor names and shapes that changes nothing.

For the model container's first GPU run (``model_container/gpu_smoke.py``):
it proves vLLM loads and serves an adapter laid out as our training writes
it, before any training job has run. PEFT builds it from a method's config
on a gpt-oss-20b skeleton on PyTorch's meta device (no weights, no
download, seconds on a CPU); only the adapter's tensors are materialised,
``lora_A`` with PEFT's initialisation and ``lora_B`` zero, so the adapter's
greedy answers equal the base's (``gpu_smoke.py --same-as-base probe``)::

    .venv-train/bin/python training/probe_adapter.py --out /tmp/probe-adapter

``make train-smoke`` builds it too and checks it with the container's own
adapter checks (``model_container/lora_support.py``).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from training import config as training_config  # noqa: E402

# openai/gpt-oss-20b's config.json: the sizes the adapter's tensors follow.
GPT_OSS_20B: dict[str, Any] = {
    "hidden_size": 2880,
    "intermediate_size": 2880,
    "num_hidden_layers": 24,
    "num_attention_heads": 64,
    "num_key_value_heads": 8,
    "head_dim": 64,
    "num_local_experts": 32,
    "num_experts_per_tok": 4,
    "vocab_size": 201088,
    "sliding_window": 128,
}


def build(out: Path, *, method: str = "sft") -> Path:
    """Write the probe adapter for ``method``'s LoRA config into ``out``; returns ``out``."""
    import torch
    from peft import get_peft_model
    from transformers import GptOssConfig, GptOssForCausalLM

    from training.trainers import lora_config

    config = training_config.load(method)
    skeleton = GptOssConfig(**GPT_OSS_20B)
    skeleton.layer_types = [
        "sliding_attention" if i % 2 == 0 else "full_attention"
        for i in range(skeleton.num_hidden_layers)
    ]
    with torch.device("meta"):
        model = GptOssForCausalLM(skeleton)
    peft_model = get_peft_model(model, lora_config(config))
    torch.manual_seed(0)
    for name, module in peft_model.named_modules():
        leaf = name.rsplit(".", 2)
        if len(leaf) == 3 and leaf[1] in ("lora_A", "lora_B"):
            module.to_empty(device="cpu")
            with torch.no_grad():
                if leaf[1] == "lora_A":  # PEFT's default initialisation
                    torch.nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5))
                else:
                    module.weight.zero_()
            module.to(torch.bfloat16)
    peft_model.peft_config["default"].base_model_name_or_path = config["model"]["name_or_path"]
    peft_model.save_pretrained(str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="training/probe_adapter.py", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder to write the adapter to")
    parser.add_argument("--method", choices=training_config.METHODS, default="sft")
    args = parser.parse_args(argv)
    folder = build(args.out, method=args.method)
    print(f"probe adapter ({args.method} recipe, gpt-oss-20b shapes, lora_B = 0): {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
