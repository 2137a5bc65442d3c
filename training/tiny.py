"""A tiny, randomly initialised gpt-oss and a word-level tokenizer, built in code.

For the CPU smoke test only: no download, seconds per step. The model has
gpt-oss's architecture (``GptOssForCausalLM``: attention with sinks, a
router and 3-D expert parameters) and 24 layers, so the recipe's LoRA
targets, including the expert projections of layers 7, 15 and 23 through
``target_parameters``, attach exactly as they would on gpt-oss-20b.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

SPECIAL_TOKENS = ("<|pad|>", "<|unk|>", "<|bos|>", "<|eos|>")
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>", "<|end|>")
# A chat template in the shape TRL needs: roles, an end marker, a generation prompt.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


_WORD_PATTERN = r"[$+-]?\d[\d,.]*[%BMKT]?|\w+|[^\w\s]"  # figures stay one token
_WORDS = re.compile(_WORD_PATTERN)


def build_tokenizer(corpus: Iterable[str]) -> Any:
    """A word-level fast tokenizer over ``corpus`` (words and single punctuation marks).

    Word-level keeps the smoke test's sequences short (a narrative prompt is
    about 2,300 characters but a few hundred words), which is what makes two
    CPU steps take seconds instead of minutes.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    for token in (*SPECIAL_TOKENS, *ROLE_TOKENS):
        vocab.setdefault(token, len(vocab))
    for text in corpus:
        for word in _WORDS.findall(text):
            vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<|unk|>"))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Split(Regex(_WORD_PATTERN), behavior="isolated"),
        ]
    )
    core.decoder = decoders.WordPiece(prefix="##")
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<|pad|>",
        unk_token="<|unk|>",
        bos_token="<|bos|>",
        eos_token="<|end|>",
        additional_special_tokens=list(ROLE_TOKENS),
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_config(vocab_size: int) -> Any:
    """gpt-oss's architecture at tiny widths.

    The expert width differs from the hidden width, so an adapter whose expert
    weights were read the wrong way round shows it in its shapes.
    """
    from transformers import GptOssConfig

    config = GptOssConfig(
        architectures=["GptOssForCausalLM"],
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=24,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        num_local_experts=4,
        num_experts_per_tok=2,
        sliding_window=64,
        pad_token_id=0,
        eos_token_id=7,
        bos_token_id=2,
        tie_word_embeddings=False,
    )
    config.layer_types = [
        "sliding_attention" if i % 2 == 0 else "full_attention"
        for i in range(config.num_hidden_layers)
    ]
    return config


def build_model(vocab_size: int) -> Any:
    """A 24-layer gpt-oss with tiny widths and random weights (about 0.3 M parameters)."""
    import torch
    from transformers import GptOssForCausalLM

    torch.manual_seed(0)
    model = GptOssForCausalLM(tiny_config(vocab_size))
    model.config.use_cache = False
    return model
