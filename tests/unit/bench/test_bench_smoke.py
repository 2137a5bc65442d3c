"""Smoke test of the benchmark's building blocks, with tiny N.

Not a timing assertion: the benchmark (``python -m bench.run``) is not part of
the suite. These tests check that the pieces the runner relies on compute the
right thing (percentiles, the table, the results file, the footprint
accounting, the counting model client, argument checking), so a broken
benchmark is found by CI rather than on the day someone needs the figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import run as bench_run  # noqa: E402
from bench.counting import CountingModelClient, estimate_tokens, narrative_from_messages  # noqa: E402
from bench.report import Results, Row, percentile, render_table, write_results  # noqa: E402
from bench.rows_agent import AgentBench  # noqa: E402
from bench.rows_infra import measure_tree, pytest_summary  # noqa: E402
from tests.support.model_clients import call_profile  # noqa: E402


def test_percentile_interpolates_between_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile([7.0], 90) == 7.0
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)


def test_table_and_results_file(tmp_path: Path) -> None:
    rows = [
        Row(number="1", what="a | b", figure="90 ms", target="≤ 150 ms", ok=True),
        Row(number="2", what="pdf", figure="70 ms", target="≤ 60 ms", ok=False, note="slow"),
        Row.skipped(number="3", what="calls", target="≤ 2", reason="tools.py not yet"),
    ]
    table = render_table(rows)
    lines = table.splitlines()
    assert len(lines) == 2 + len(rows)
    assert "a \\| b" in lines[2]  # a pipe in a cell cannot split the row
    assert "✅" in lines[2] and "❌" in lines[3] and "not measured" in lines[4]

    changes = tmp_path / "changes.md"
    changes.write_text("- lazy import of reportlab: 900 ms → 300 ms\n", encoding="utf-8")
    out = write_results(
        Results(rows=rows, comparison=["calls ratio 4.0×"]),
        path=tmp_path / "RESULTS.md",
        changes_path=changes,
        command="python -m bench.run --rows 1",
    )
    text = out.read_text(encoding="utf-8")
    assert "1 met, 1 missed, 1 not measured" in text
    assert table in text
    assert "calls ratio 4.0×" in text
    assert "lazy import of reportlab" in text
    assert "CPUs:" in text and "langgraph" in text


def test_footprint_counts_each_distribution_from_its_record(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_bytes(b"x" * 1000)
    (tmp_path / "pkg.libs").mkdir()
    (tmp_path / "pkg.libs" / "vendored.so").write_bytes(b"y" * 5000)
    info = tmp_path / "pkg-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(
        "pkg/__init__.py,sha256=abc,1000\npkg.libs/vendored.so,,\npkg-1.0.dist-info/RECORD,,\n",
        encoding="utf-8",
    )
    (tmp_path / "stray.py").write_bytes(b"z" * 10)
    record_size = (info / "RECORD").stat().st_size

    footprint = measure_tree(tmp_path)

    assert footprint.by_distribution["pkg 1.0"] == 6000 + record_size
    assert footprint.by_distribution["(not in any RECORD: bytecode, scripts)"] == 10
    assert footprint.total_bytes == 6010 + record_size


def test_counting_client_counts_and_quotes_only_prompt_figures() -> None:
    messages = [
        {"role": "system", "content": "You are an equity analyst."},
        {
            "role": "user",
            "content": '{"symbol":"SIM_STOCK","as_of":"2026-11-20",'
            '"key_figures":{"Price":"$123.45","YTD return":"+4.20%","Sector":"Tech"}}',
        },
    ]
    client = CountingModelClient()
    result = client.chat(call_profile(max_tokens=256), messages)
    client.chat(
        call_profile(max_tokens=256, tools=[{"type": "function", "function": {"name": "f"}}]),
        messages,
    )

    assert client.call_count == 2
    assert "$123.45" in result.content and "+4.20%" in result.content
    assert "2026-11-20" not in result.content  # only key figures are quoted
    chars = sum(len(m["content"]) for m in messages)
    assert client.calls[0].prompt_tokens == -(-chars // 4)
    assert client.calls[1].prompt_tokens > client.calls[0].prompt_tokens
    assert client.prompt_tokens == sum(c.prompt_tokens for c in client.calls)
    assert estimate_tokens([], None) == 0
    assert "investment advice" in narrative_from_messages([])


def test_pytest_summary_keeps_failures_and_names_them() -> None:
    out = "\n".join(
        [
            "....F.",
            "FAILED tests/unit/x/test_a.py::test_one - AssertionError: boom",
            "1 failed, 711 passed, 1 warning in 120.52s (0:02:00)",
        ]
    )
    assert pytest_summary(out) == (
        "1 failed, 711 passed, 1 warning; failing: tests/unit/x/test_a.py::test_one"
    )
    assert pytest_summary("===== 3 passed in 1.20s =====") == "3 passed"
    assert pytest_summary("") == "no summary line"


@pytest.mark.parametrize(
    "argv",
    [["--runs", "0"], ["--rows", "99"], ["--concurrency", "1,x"], ["--stub-latency", "-1"]],
)
def test_runner_rejects_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench_run.build_parser().parse_args(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_row1b_times_the_track_record_cold_and_cached_and_the_first_vocabulary() -> None:
    cold, cached, vocabulary = AgentBench(repo=REPO_ROOT, runs=2).row1b(tickers=1, repeats=1)
    assert [cold.number, cached.number, vocabulary.number] == ["1b", "1b", "1c"]
    assert "(cold)" in cold.what and "(cached)" in cached.what
    assert "1 ticker(s) new to a fresh process" in cold.note and "month-end signals" in cold.note
    assert all(row.figure.startswith("p50 ") for row in (cold, cached))
    assert vocabulary.figure.endswith("ms") and "fresh processes" in vocabulary.note


def test_row1_and_row3_run_the_real_graph_with_tiny_n() -> None:
    """Row 1 times complete analyses (PDF on disk); row 3 counts calls at the client."""
    bench = AgentBench(repo=REPO_ROOT, runs=2)

    [row1] = bench.row1()
    rows3 = bench.row3()

    assert row1.figure.startswith("p50 ") and "2 runs" in row1.note
    assert bench.overhead_p50_s is not None and bench.overhead_p50_s > 0
    assert [r.what.rsplit("(", 1)[1] for r in rows3] == ["1 ticker)", "3 tickers)"]
    # The design asks the model once per ticker for the narrative: not a timing. Three
    # tickers are a comparison, whose comparison narrative is one call more.
    assert rows3[0].figure.startswith("1 calls")
    assert "4 calls for 3 ticker(s)" in rows3[1].note
    assert all(r.ok for r in rows3)


def test_react_baseline_drives_the_agent_tools_with_four_model_calls(tmp_path: Path) -> None:
    """The stub is FakeVLLM on loopback (vLLM's wire format): the GPU model cannot run here."""
    from stock_agent.market_data import get_provider
    from stock_agent.models.openai import OpenAIModelClient
    from stock_agent.reports.storage import LocalReportStore

    from bench.react_baseline import TOOL_ORDER, run_react, scripted_react_model
    from bench.react_tools import ToolSession, build_tools
    from tests.support.fake_vllm import FakeVLLM

    with FakeVLLM.start() as fake:
        fake.default_response = scripted_react_model("SIM_STOCK")
        client = CountingModelClient(
            inner=OpenAIModelClient(base_url=fake.url, model="model", max_retries=0)
        )
        session = ToolSession(
            provider=get_provider("simulated"),
            store=LocalReportStore(root=tmp_path),
            request_id="smoke",
        )
        outcome = run_react("Analyze SIM_STOCK", model=client, tools=build_tools(session))
        sent = fake.chat_requests

    assert outcome.model_calls == client.call_count == len(sent) == 4
    assert outcome.tool_calls == list(TOOL_ORDER)
    assert outcome.tool_errors == []
    assert "STOCK REPORT GENERATION" in outcome.answer
    assert [t["function"]["name"] for t in sent[0]["tools"]] == list(TOOL_ORDER)
    # Each turn resends the growing history: the counted prompt grows every call.
    tokens = [c.prompt_tokens for c in client.calls]
    assert tokens == sorted(tokens) and tokens[0] < tokens[-1]
    pdfs = list(tmp_path.rglob("*.pdf"))
    assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF")


def test_conversation_rows_measure_every_figure_with_tiny_n() -> None:
    from bench.rows_conversation import row10

    rows = row10(runs=1)
    assert [r.number for r in rows] == ["10a", "10b", "10c", "10d", "10e"]
    assert all(r.ok is not None and r.figure != "—" for r in rows)
    plans = rows[-1]
    assert plans.ok and plans.figure.startswith("max 1 when the rules cannot read it")


def test_memory_rows_measure_both_figures_with_tiny_n() -> None:
    from bench.rows_memory import row12

    rows = row12(runs=1)
    assert [r.number for r in rows] == ["12a", "12b"]
    assert all(r.ok is not None and r.figure.startswith("p50 ") for r in rows)
    assert "SQLite" in rows[0].note and "in memory" in rows[0].note
    assert "12" in bench_run.ALL_ROWS


def test_eval_row_is_not_measured_without_the_harness(tmp_path: Path) -> None:
    from bench.rows_eval import measure_eval

    row = measure_eval(repo=tmp_path)
    assert row.ok is None and row.number == "E" and "eval/" in row.note
    assert "eval" in bench_run.ALL_ROWS


@pytest.mark.slow
def test_mcp_rows_time_both_transports_with_tiny_n() -> None:
    from bench.rows_mcp import row11

    rows = row11(repo=Path(__file__).resolve().parents[3], runs=1)
    assert [r.number for r in rows] == ["11a", "11b"]
    assert all(r.ok is not None and r.figure.endswith("ms p50") for r in rows)
    assert all("get_figure" in r.note and "analyze_stock_performance" in r.note for r in rows)
