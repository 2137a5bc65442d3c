"""``bench/serving.py`` against the fake vLLM over real HTTP server-sent events."""

from __future__ import annotations

from pathlib import Path

from tests.support.fake_vllm import (
    FakeVLLM,
    chat_completion,
)
from tests.support.model_clients import call_profile, openai_client


def test_serving_benchmark_runs_against_the_fake_vllm(vllm: FakeVLLM, tmp_path: Path) -> None:
    """bench/serving.py over real HTTP SSE from the fake vLLM (10 ms between chunks)."""
    from bench import serving

    vllm.token_delay_s = 0.01
    vllm.default_response = lambda request: chat_completion(
        "steady growth with moderate risk and a stable dividend", reasoning="short outlook"
    )
    output = tmp_path / "serving.md"
    args = ["--url", vllm.url, "--concurrency", "1,2", "--requests", "2", "--max-tokens", "64"]
    code = serving.main([*args, "--output", str(output), "--no-warmup"])
    assert code == 0
    table = output.read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split("|")[1].strip() for row in rows[1:]] == ["1", "2"]
    for row in rows[1:]:
        cells = [c.strip() for c in row.split("|")[1:-1]]
        requests, errors, ttft_p50, itl_p50 = cells[1], cells[2], cells[3], cells[5]
        assert (requests, errors) == ("2", "0")
        assert float(ttft_p50) > 0
        assert float(itl_p50) >= 9  # the fake waits 10 ms between chunks
    assert "≈ 234 tokens/s single-stream" in table  # 864 GB/s ÷ 3.7 GB per token
    assert "Measured batch-1 decode" in table
    assert len(vllm.chat_requests) == 4
    assert all(r["stream"] is True for r in vllm.chat_requests)


def test_serving_benchmark_counts_tokens_from_usage(vllm: FakeVLLM) -> None:
    """One streamed request through the benchmark's measurement, usage chunk included."""
    from bench import serving

    body = chat_completion("one two three four", reasoning="a b", completion_tokens=11)
    vllm.enqueue(body=body, token_delay_s=0.005)
    client = openai_client(vllm)
    stats = serving.measure_one(
        lambda messages, max_tokens: client.stream_chat(
            call_profile(max_tokens=max_tokens), messages
        ),
        serving.messages_for(0),
        32,
    )
    assert stats.error is None
    assert stats.output_tokens == 11  # from usage, not from counting chunks
    assert stats.ttft_s is not None and len(stats.gaps_s) == 5  # 6 text chunks: 2 + 4
