"""The model container's first-GPU-run check: stops at the first failure and says why.

Run it against a started container (``docker run ... gpt-oss-vllm`` or the
SageMaker endpoint's container on its host), with the adapters the container
was given::

    python3 model_container/gpu_smoke.py --url http://127.0.0.1:8080 --adapter probe

Checks, in order (each prints ``PASS``/``FAIL`` and the reason):

1. ``GET /ping`` answers 200 within ``--wait`` seconds (vLLM compiles and
   captures CUDA graphs first: minutes);
2. ``GET /v1/models`` lists the base (``model``) and every ``--adapter``
   (vLLM lists LoRA modules with ``parent`` = the base);
3. one greedy chat completion through the base and one through each adapter:
   HTTP 200, text, a finish reason, no degenerate output (a character
   repeated :data:`DEGENERATE_RUN` times, the symptom of the LoRA
   CUDA-graph bugs upstream fixed);
4. :data:`MIXED_PAIRS` base and adapter requests at once, as one batch (the
   shape that crashed MoE LoRA CUDA-graph replay upstream), then ``/ping``
   again: the engine must survive it.

With ``--same-as-base ADAPTER`` the greedy answer of that adapter must equal
the base's (for the zero-initialised probe adapter of
``training/probe_adapter.py``, whose ``lora_B`` is zero). Exit status 0 only
when every check passes. Standard library only: runs on any host with python3.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("model_container.gpu_smoke")

BASE_MODEL = "model"  # the served name serve.py gives the base
PROMPT = "In two sentences, say what a price-to-earnings ratio measures."
MAX_TOKENS = 96
DEGENERATE_RUN = 16  # the same character this many times in a row is not language
MIXED_PAIRS = 4
REQUEST_TIMEOUT_S = 300.0
_DEGENERATE = re.compile(rf"(\S)\1{{{DEGENERATE_RUN - 1},}}")


class SmokeFailure(RuntimeError):
    """A check failed; the message says which and why."""


@dataclass(frozen=True)
class Answer:
    """One chat completion's text and finish reason."""

    model: str
    text: str
    finish_reason: str


def _request(url: str, body: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (the operator's own server URL)
        url, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        raw = response.read()
    return json.loads(raw) if raw else None


def wait_for_ping(base_url: str, *, wait_s: float, sleep: Callable[[float], None]) -> float:
    """Seconds until ``/ping`` answered 200; :class:`SmokeFailure` after ``wait_s``."""
    started = time.monotonic()
    last = "no answer"
    while True:
        try:
            _request(f"{base_url}/ping", timeout=5.0)
            return time.monotonic() - started
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(getattr(exc, "reason", exc))
        if time.monotonic() - started >= wait_s:
            raise SmokeFailure(
                f"/ping did not answer 200 within {wait_s:.0f} s (last: {last}); read the "
                "container log: a bad OPTION_* value or an adapter serve.py refused stops it "
                "with one line, a CUDA or driver mismatch shows as a vLLM traceback"
            )
        sleep(2.0)


def check_models(base_url: str, adapters: Sequence[str]) -> list[str]:
    """The served model ids; :class:`SmokeFailure` naming what is missing."""
    try:
        listing = _request(f"{base_url}/v1/models")
        ids = [card["id"] for card in listing["data"]]
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
        raise SmokeFailure(f"/v1/models did not answer a model list ({exc})") from None
    missing = [name for name in (BASE_MODEL, *adapters) if name not in ids]
    if missing:
        raise SmokeFailure(
            f"/v1/models lists {ids}, not {missing}: the container did not load them "
            "(OPTION_LORA_MODULES, OPTION_SERVED_MODEL_NAME)"
        )
    return ids


def ask(base_url: str, model: str) -> Answer:
    """One greedy chat completion through ``model``; :class:`SmokeFailure` on anything odd."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0.0,
    }
    try:
        reply = _request(f"{base_url}/v1/chat/completions", body, timeout=REQUEST_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode(errors="replace")
        raise SmokeFailure(f"{model}: HTTP {exc.code} {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SmokeFailure(
            f"{model}: no answer ({exc}); did the engine die? read its log"
        ) from None
    try:
        choice = reply["choices"][0]
        message = choice["message"]
        text = (message.get("content") or "") + (message.get("reasoning") or "")
        finish = choice.get("finish_reason") or ""
    except (KeyError, IndexError, TypeError, AttributeError):
        raise SmokeFailure(f"{model}: not a chat completion: {str(reply)[:200]}") from None
    if not text.strip():
        raise SmokeFailure(f"{model}: empty answer (finish_reason={finish!r})")
    if finish not in ("stop", "length"):
        raise SmokeFailure(f"{model}: finish_reason={finish!r}, expected stop or length")
    run = _DEGENERATE.search(text)
    if run:
        raise SmokeFailure(
            f"{model}: degenerate output ({run.group(0)[:24]!r}...): the LoRA + CUDA-graph "
            'failure mode; retry with OPTION_COMPILATION_CONFIG=\'{"cudagraph_mode":"NONE"}\' '
            "to confirm, and report the vLLM version"
        )
    return Answer(model=model, text=text, finish_reason=finish)


def mixed_batch(base_url: str, adapters: Sequence[str], *, pairs: int) -> list[Answer]:
    """``pairs`` requests to the base and to each adapter, all at once."""
    models = [m for _ in range(pairs) for m in (BASE_MODEL, *adapters)]
    with ThreadPoolExecutor(max_workers=len(models)) as pool:
        return list(pool.map(lambda m: ask(base_url, m), models))


def run(
    base_url: str,
    adapters: Sequence[str],
    *,
    wait_s: float,
    same_as_base: Sequence[str] = (),
    pairs: int = MIXED_PAIRS,
    report: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Every check in order; 0 when all pass, 1 at the first failure (reported)."""
    base_url = base_url.rstrip("/")
    step = "ping"
    try:
        seconds = wait_for_ping(base_url, wait_s=wait_s, sleep=sleep)
        report(f"PASS ping: /ping answered after {seconds:.0f} s")
        step = "models"
        ids = check_models(base_url, adapters)
        report(f"PASS models: {ids}")
        step = "one request each"
        answers = {m: ask(base_url, m) for m in (BASE_MODEL, *adapters)}
        for model, answer in answers.items():
            report(f"PASS {model}: {answer.finish_reason}, {answer.text[:60]!r}")
        for adapter in same_as_base:
            if answers[adapter].text != answers[BASE_MODEL].text:
                raise SmokeFailure(
                    f"{adapter} (lora_B = 0) answered differently from the base: the adapter "
                    f"path changes the output; base {answers[BASE_MODEL].text[:60]!r}, "
                    f"{adapter} {answers[adapter].text[:60]!r}"
                )
            report(f"PASS {adapter}: same greedy answer as the base (zero adapter)")
        if adapters:
            step = "mixed batch"
            batch = mixed_batch(base_url, adapters, pairs=pairs)
            wait_for_ping(base_url, wait_s=30.0, sleep=sleep)
            report(f"PASS mixed batch: {len(batch)} base and adapter requests at once, engine up")
    except SmokeFailure as failure:
        report(f"FAIL {step}: {failure}")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu_smoke.py", description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the container's root URL")
    parser.add_argument("--adapter", action="append", default=[], help="an adapter's served name")
    parser.add_argument("--wait", type=float, default=1200.0, help="seconds to wait for /ping")
    parser.add_argument(
        "--same-as-base",
        action="append",
        default=[],
        help="an adapter whose greedy answer must equal the base's (a zero adapter)",
    )
    args = parser.parse_args(argv)
    unknown = [a for a in args.same_as_base if a not in args.adapter]
    if unknown:
        parser.error(f"--same-as-base {unknown[0]} is not one of the --adapter names")
    logging.basicConfig(level=logging.WARNING)
    return run(args.url, args.adapter, wait_s=args.wait, same_as_base=args.same_as_base)


if __name__ == "__main__":
    sys.exit(main())
