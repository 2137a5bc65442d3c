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
from bench.rows_infra import measure_tree  # noqa: E402


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
    result = client.chat(messages, max_tokens=256)
    client.chat(messages, max_tokens=256, tools=[{"type": "function", "function": {"name": "f"}}])

    assert client.call_count == 2
    assert "$123.45" in result.content and "+4.20%" in result.content
    assert "2026-11-20" not in result.content  # only key figures are quoted
    chars = sum(len(m["content"]) for m in messages)
    assert client.calls[0].prompt_tokens == -(-chars // 4)
    assert client.calls[1].prompt_tokens > client.calls[0].prompt_tokens
    assert client.prompt_tokens == sum(c.prompt_tokens for c in client.calls)
    assert estimate_tokens([], None) == 0
    assert "investment advice" in narrative_from_messages([])


@pytest.mark.parametrize(
    "argv",
    [["--runs", "0"], ["--rows", "9"], ["--concurrency", "1,x"], ["--stub-latency", "-1"]],
)
def test_runner_rejects_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench_run.build_parser().parse_args(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err
