"""Row 9: the local server under a burst of 64 requests, and ``/ping`` meanwhile.

``stock-agent serve`` in a subprocess with its default bounds
(``MAX_CONCURRENT_REQUESTS`` running, ``MAX_QUEUED_REQUESTS`` waiting) and
``MODEL_PROVIDER=openai`` pointed at FakeVLLM answering after the stub
latency. 64 ``/invocations`` for different tickers are released together by
a barrier; a prober sends ``GET /ping`` every 20 ms for as long as the burst
lasts and samples the server's thread count from ``/proc``. The row reports
request p50/p95, ``/ping`` p50/p95, how many answers were 200 / 503, and the
peak thread count.
"""

from __future__ import annotations

import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .counting import narrative_from_messages
from .report import Row, fmt_ms, percentile
from .server import request, serve

PING_P95_TARGET_S = 0.100
PING_EVERY_S = 0.020
BURST = 64


def _threads(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def row9(*, repo: Path, stub_latency_s: float, env_for: object, burst: int = BURST) -> list[Row]:
    """Measure the burst; ``env_for(reports_dir, base_url)`` gives the server's environment."""
    from stock_agent.market_data import known_symbols

    from tests.support.fake_vllm import FakeVLLM

    symbols = sorted(known_symbols())
    with FakeVLLM.start() as fake, tempfile.TemporaryDirectory(prefix="bench-row9-") as tmp:
        fake.default_response = lambda req: narrative_from_messages(req.get("messages") or [])
        fake.default_delay_s = stub_latency_s
        env = env_for(tmp, fake.url)  # type: ignore[operator]
        with serve(repo, env=env) as server:
            request(f"{server.url}/invocations", payload={"prompt": "Analyze SIM_STOCK"})
            done = threading.Event()
            pings: list[float] = []
            busy_seen = 0
            peak_threads = 0

            def probe() -> None:
                nonlocal busy_seen, peak_threads
                while not done.is_set():
                    reply = request(f"{server.url}/ping", timeout_s=10)
                    pings.append(reply.seconds)
                    busy_seen += b"HealthyBusy" in reply.body
                    peak_threads = max(peak_threads, _threads(server.process.pid))
                    time.sleep(PING_EVERY_S)

            barrier = threading.Barrier(burst)

            def one(i: int) -> tuple[int, float]:
                barrier.wait()
                prompt = f"Analyze ${symbols[i % len(symbols)]}"
                reply = request(
                    f"{server.url}/invocations", payload={"prompt": prompt}, timeout_s=300
                )
                return reply.status, reply.seconds

            prober = threading.Thread(target=probe, daemon=True)
            prober.start()
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=burst) as pool:
                outcomes = list(pool.map(one, range(burst)))
            wall = time.perf_counter() - started
            done.set()
            prober.join(timeout=15)
    latencies = [s for status, s in outcomes if status == 200]
    ok_count = len(latencies)
    busy_count = sum(1 for status, _ in outcomes if status == 503)
    other = burst - ok_count - busy_count
    ping_p95 = percentile(pings, 95)
    met = ping_p95 <= PING_P95_TARGET_S and ok_count == burst
    return [
        Row(
            number="9",
            what=f"local server, burst of {burst} requests",
            figure=(
                f"p50 {fmt_ms(percentile(latencies, 50))}, p95 {fmt_ms(percentile(latencies, 95))}"
                f"; /ping p50 {fmt_ms(percentile(pings, 50))}, p95 {fmt_ms(ping_p95)}"
                if latencies
                else f"no request succeeded; /ping p95 {fmt_ms(ping_p95)}"
            ),
            target=f"/ping p95 ≤ {fmt_ms(PING_P95_TARGET_S)}; all {burst} answered 200",
            ok=met,
            note=(
                f"{ok_count} × 200, {busy_count} × 503, {other} other; wall {wall:.1f} s; "
                f"{len(pings)} pings ({busy_seen} HealthyBusy); peak {peak_threads} threads; "
                f"stub {stub_latency_s:g} s per model call"
            ),
        )
    ]
