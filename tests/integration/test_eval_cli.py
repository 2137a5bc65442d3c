"""``stock-agent eval --url``: the golden set against the real app served over HTTP.

The agent app (offline model, simulated data) runs under uvicorn on a free
loopback port; the CLI runs in this process, sends every case of two
categories over real HTTP, reads the PDFs back, writes the table.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from stock_agent.cli import main
from stock_agent.server.entrypoint import create_app
from stock_agent.settings import AgentSettings

from tests.integration.conftest import serve_app_in_thread

pytestmark = pytest.mark.slow


def test_stock_agent_eval_against_a_local_server_writes_the_table(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    ctx = AgentSettings(reports_dir=str(reports))
    output = tmp_path / "RESULTS.md"
    out = io.StringIO()
    with serve_app_in_thread(create_app(ctx=ctx), reports_dir=reports) as server:
        code = main(
            [
                "eval",
                "--url",
                server.url,
                "--category",
                "single_ticker",
                "--category",
                "malformed",
                "--output",
                str(output),
            ],
            out=out,
        )
    text = output.read_text()
    assert code == 0, text
    assert f"- target: server at {server.url}" in text
    assert "| ticker_accuracy | 14 / 14 | 100.0% | 100% | PASS |" in text
    assert "| refusal_correctness | 29 / 29 | 100.0% | 100% | PASS |" in text
    assert "| dropped disclaimer | disclaimer_present | pass | fail | yes |" in text
    assert "no judge configured" in text and "gate: **PASS**" in text
    assert out.getvalue().startswith("# Evaluation results")


def test_stock_agent_eval_refuses_bad_arguments(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["eval", "--url", "ftp://x", "--output", str(tmp_path / "r.md")], out=out) == 2
    assert "not an http(s) URL" in out.getvalue()
    bad = tmp_path / "t.toml"
    bad.write_text("[criteria]\nlatency = 2\n")
    out = io.StringIO()
    assert main(["eval", "--thresholds", str(bad)], out=out) == 2
    assert "criteria: missing" in out.getvalue()
    assert not (tmp_path / "r.md").exists()


def test_stock_agent_eval_compares_two_servers_and_reads_their_run_records(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Two offline agents over HTTP: same cases, records read beside the PDFs, not better."""
    output = tmp_path / "COMPARISON.md"
    out = io.StringIO()
    with (
        serve_app_in_thread(
            create_app(ctx=AgentSettings(reports_dir=str(tmp_path / "a"))),
            reports_dir=tmp_path / "a",
        ) as first,
        serve_app_in_thread(
            create_app(ctx=AgentSettings(reports_dir=str(tmp_path / "b"))),
            reports_dir=tmp_path / "b",
        ) as second,
    ):
        code = main(
            ["eval", "--baseline", first.url, "--candidate", second.url,
             "--category", "company_name", "--output", str(output)],
            out=out,
        )  # fmt: skip
    text = output.read_text()
    assert code == 1, text
    assert f"- baseline: server at {first.url}" in text
    assert f"- candidate: server at {second.url}" in text
    # The offline model writes the delivered narrative itself: scored from each run record.
    assert "Narratives scored: baseline 7, candidate 7." in text
    assert "| first_answer_faithful | not worse" in text and "NO DATA" in text
    assert "- verdict: **NOT BETTER**" in text
    assert "eval: verdict NOT BETTER" in capfd.readouterr().err
