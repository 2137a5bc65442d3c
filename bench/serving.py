"""Serving benchmark of the model endpoint: TTFT, inter-token latency, output tokens/s.

Not part of the test suite and not part of ``make bench`` (it needs a GPU
endpoint). It streams chat completions at several concurrency levels, either
through SageMaker (``invoke_endpoint_with_response_stream`` on the inference
component) or straight to an OpenAI-compatible URL (a local ``vllm serve``,
the container run by hand, or the test fakes), and prints a markdown table::

    # the deployed endpoint (credentials from the usual AWS chain)
    python -m bench.serving --endpoint gptoss-agent-dev-endpoint \\
        --inference-component gptoss-agent-dev-ic --region us-east-1
    # a local vLLM / the container on a GPU box
    python -m bench.serving --url http://127.0.0.1:8080/v1 --concurrency 1,4 --requests 8

Per request: time to first token (TTFT: first streamed reasoning or content
text), inter-token latency (ITL: gaps between later token-bearing chunks)
and output tokens (``usage.completion_tokens`` from the final chunk, else the
number of token-bearing chunks). Per level: p50/p95 of TTFT and ITL, the
median single-stream decode rate and the aggregate output rate (all output
tokens of the level / its wall time).

The ceiling it is compared to: decoding one token at batch 1 reads every
active weight once. On an L40S (864 GB/s of GDDR6) gpt-oss-20b reads about
3.7 GB per decoded token (MXFP4 expert weights through the Marlin kernel,
attention and embeddings in bf16, KV cache), so about 864 / 3.7 ≈ 230
tokens/s single-stream is the physical limit. A batch-1 rate well below it
points at the serving stack (CUDA graphs off, eager mode, a slow attention
backend), not at the GPU. Higher concurrency shares each weight read across
sequences, so the aggregate rate may exceed the single-stream ceiling while
each stream slows down.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

L40S_BANDWIDTH_GB_S = 864.0
GB_READ_PER_TOKEN = 3.7
CEILING_TOKENS_S = L40S_BANDWIDTH_GB_S / GB_READ_PER_TOKEN
DEFAULT_CONCURRENCY = (1, 4, 16, 32)
SYSTEM_PROMPT = (
    "You are a careful equity analyst. Write a short, factual outlook for the stock the "
    "user names, in plain prose, without inventing figures."
)
TICKERS = ("SIM_STOCK", "AMZN", "MSFT", "BRK.B", "NVDA", "JPM", "XOM", "KO")

StreamFn = Callable[[list[dict[str, Any]], int], Iterable[Any]]


@dataclass
class RequestStats:
    """One streamed request."""

    ttft_s: float | None = None
    gaps_s: list[float] = field(default_factory=list)
    output_tokens: int = 0
    total_s: float = 0.0
    error: str | None = None

    @property
    def decode_tokens_s(self) -> float | None:
        """Tokens after the first, over the time after the first (the decode rate)."""
        if self.ttft_s is None or self.output_tokens < 2:
            return None
        decode_s = self.total_s - self.ttft_s
        return (self.output_tokens - 1) / decode_s if decode_s > 0 else None


@dataclass
class LevelStats:
    """All requests of one concurrency level."""

    concurrency: int
    requests: list[RequestStats]
    wall_s: float

    @property
    def ok(self) -> list[RequestStats]:
        return [r for r in self.requests if r.error is None and r.ttft_s is not None]

    @property
    def errors(self) -> int:
        return len(self.requests) - len(self.ok)

    @property
    def aggregate_tokens_s(self) -> float:
        return sum(r.output_tokens for r in self.ok) / self.wall_s if self.wall_s > 0 else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in [0, 100]) or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def messages_for(index: int) -> list[dict[str, Any]]:
    """The agent's shape: one shared system prompt (prefix-cached) and a varying question."""
    ticker = TICKERS[index % len(TICKERS)]
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {
            "role": "user",
            "content": f"Request {index}: give a three-paragraph outlook for {ticker}.",
        },
    ]


def measure_one(stream: StreamFn, messages: list[dict[str, Any]], max_tokens: int) -> RequestStats:
    """Stream one request and time every token-bearing chunk."""
    stats = RequestStats()
    started = time.perf_counter()
    last: float | None = None
    chunks = 0
    usage_tokens: int | None = None
    try:
        for delta in stream(messages, max_tokens):
            if getattr(delta, "usage", None) is not None:
                usage_tokens = delta.usage.completion_tokens
            if not (getattr(delta, "content", "") or getattr(delta, "reasoning", "")):
                continue
            now = time.perf_counter()
            if last is None:
                stats.ttft_s = now - started
            else:
                stats.gaps_s.append(now - last)
            last = now
            chunks += 1
    except Exception as err:  # a benchmark reports failures, it does not stop on them
        stats.error = f"{type(err).__name__}: {err}"
        logger.warning("request failed: %s", stats.error)
    stats.total_s = time.perf_counter() - started
    stats.output_tokens = usage_tokens if usage_tokens else chunks
    return stats


def run_level(
    stream: StreamFn, *, concurrency: int, requests: int, max_tokens: int, offset: int = 0
) -> LevelStats:
    """``requests`` streamed requests with at most ``concurrency`` in flight."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(
            pool.map(
                lambda i: measure_one(stream, messages_for(offset + i), max_tokens),
                range(requests),
            )
        )
    return LevelStats(
        concurrency=concurrency, requests=results, wall_s=time.perf_counter() - started
    )


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:.0f}"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def markdown_table(levels: Iterable[LevelStats], *, target: str) -> str:
    """The report: one row per concurrency level, then the ceiling it is compared to."""
    levels = list(levels)
    lines = [
        f"Serving benchmark against {target}",
        "",
        "| concurrency | requests | errors | TTFT p50 (ms) | TTFT p95 (ms) | ITL p50 (ms) "
        "| ITL p95 (ms) | decode tok/s per stream (p50) | output tok/s (aggregate) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in levels:
        ok = level.ok
        ttft = [r.ttft_s for r in ok if r.ttft_s is not None]
        gaps = [g for r in ok for g in r.gaps_s]
        rates = [rate for r in ok if (rate := r.decode_tokens_s) is not None]
        lines.append(
            f"| {level.concurrency} | {len(level.requests)} | {level.errors} "
            f"| {_ms(percentile(ttft, 50))} | {_ms(percentile(ttft, 95))} "
            f"| {_ms(percentile(gaps, 50))} | {_ms(percentile(gaps, 95))} "
            f"| {_rate(statistics.median(rates) if rates else None)} "
            f"| {_rate(level.aggregate_tokens_s)} |"
        )
    single = next((lv for lv in levels if lv.concurrency == 1), None)
    batch1 = [
        rate for r in (single.ok if single else []) if (rate := r.decode_tokens_s) is not None
    ]
    measured = statistics.median(batch1) if batch1 else None
    lines += [
        "",
        f"Ceiling: L40S {L40S_BANDWIDTH_GB_S:.0f} GB/s ÷ ~{GB_READ_PER_TOKEN} GB read per decoded "
        f"token (gpt-oss-20b, batch 1) ≈ {CEILING_TOKENS_S:.0f} tokens/s single-stream.",
    ]
    if measured is not None:
        share = measured / CEILING_TOKENS_S * 100
        lines.append(
            f"Measured batch-1 decode: {measured:.1f} tokens/s ({share:.0f} % of the ceiling)."
        )
    return "\n".join(lines) + "\n"


def _profile(max_tokens: int) -> Any:
    """The benchmark's requests carry their own messages; only the budget varies."""
    from stock_agent.models.types import CallProfile

    return CallProfile(purpose="serving_bench", system_prompt=None, max_tokens=max_tokens)


def _stream_fn(args: argparse.Namespace) -> tuple[StreamFn, str]:
    """The streaming call for the chosen target (imports the agent's clients lazily)."""
    if args.url:
        from stock_agent.models.openai import OpenAIModelClient

        openai = OpenAIModelClient(
            base_url=args.url, model=args.model, timeout_s=args.timeout, max_retries=0
        )

        def stream_openai(messages: list[dict[str, Any]], max_tokens: int) -> Iterator[Any]:
            return openai.stream_chat(_profile(max_tokens), messages)

        return stream_openai, args.url
    from stock_agent.models.sagemaker import SageMakerModelClient

    sagemaker = SageMakerModelClient(
        endpoint_name=args.endpoint,
        inference_component=args.inference_component,
        region=args.region,
        model=args.model,
        timeout_s=args.timeout,
        max_retries=0,
        endpoint_url=args.endpoint_url,
    )

    def stream_sagemaker(messages: list[dict[str, Any]], max_tokens: int) -> Iterator[Any]:
        return sagemaker.stream_chat(_profile(max_tokens), messages)

    return stream_sagemaker, f"SageMaker {args.endpoint}/{args.inference_component}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.serving", description=__doc__.split("\n")[0]
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1")
    target.add_argument("--endpoint", help="SageMaker endpoint name")
    parser.add_argument("--inference-component", help="inference component (with --endpoint)")
    parser.add_argument("--region", default=None, help="AWS region (with --endpoint)")
    parser.add_argument("--endpoint-url", default=None, help="override the runtime URL (tests)")
    parser.add_argument("--model", default="model", help="served model name (default: model)")
    parser.add_argument(
        "--concurrency",
        default=",".join(map(str, DEFAULT_CONCURRENCY)),
        help="comma-separated levels (default 1,4,16,32)",
    )
    parser.add_argument(
        "--requests", type=int, default=0, help="per level (default 4 × level, >= 8)"
    )
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=120.0, help="read timeout per request, s")
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up request")
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    if args.endpoint and not args.inference_component:
        parser.error("--endpoint needs --inference-component")
    try:
        args.levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    except ValueError:
        parser.error(
            f"--concurrency must be integers separated by commas, got {args.concurrency!r}"
        )
    if not args.levels or min(args.levels) < 1:
        parser.error("--concurrency levels must be >= 1")
    if args.requests < 0 or args.max_tokens < 1:
        parser.error("--requests must be >= 0 and --max-tokens >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    stream, target = _stream_fn(args)
    if not args.no_warmup:  # load CUDA graphs / caches before the first timed request
        warm = measure_one(stream, messages_for(10_000), 16)
        if warm.error:
            print(f"warm-up request failed: {warm.error}", file=sys.stderr)
            return 1
    levels = []
    offset = 0
    for concurrency in args.levels:
        requests = args.requests or max(8, 4 * concurrency)
        logger.info("concurrency %d: %d requests", concurrency, requests)
        levels.append(
            run_level(
                stream,
                concurrency=concurrency,
                requests=requests,
                max_tokens=args.max_tokens,
                offset=offset,
            )
        )
        offset += requests
    table = markdown_table(levels, target=target)
    print(table)
    if args.output:
        args.output.write_text(table, encoding="utf-8")
    return 0 if all(level.ok for level in levels) else 1


if __name__ == "__main__":
    sys.exit(main())
