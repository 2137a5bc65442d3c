"""The ``stock-agent`` command line, in process: analyze, usage errors, eval's hand-off.

``analyze`` runs the real pipeline (offline model, simulated data, reports in
``tmp_path``). Rendering ``invoke`` answers is the client's
(``tests/unit/agent/client/test_remote.py``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from stock_agent.cli import main

TITLES = ("STOCK DATA GATHERING REPORT", "STOCK PERFORMANCE ANALYSIS", "STOCK REPORT GENERATION")


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, out=out)
    return code, out.getvalue()


def test_analyze_prints_three_sections_and_the_report_path(tmp_path: Path) -> None:
    code, text = _run(
        ["analyze", "Analyze SIM_STOCK for investment purposes", "--reports-dir", str(tmp_path)]
    )
    assert code == 0
    positions = [text.index(title) for title in TITLES]
    assert positions == sorted(positions)
    last = text.rstrip().splitlines()[-1]
    assert last.startswith("Report: ")
    path = Path(last.removeprefix("Report: "))
    assert path.is_file() and path.is_relative_to(tmp_path)
    assert path.read_bytes().startswith(b"%PDF")


def test_analyze_prints_a_report_line_for_every_pdf_the_comparison_included(
    tmp_path: Path,
) -> None:
    code, text = _run(["analyze", "Compare AAPL and MSFT", "--reports-dir", str(tmp_path)])
    assert code == 0
    reports = [line.removeprefix("Report: ") for line in text.splitlines() if
               line.startswith("Report: ")]  # fmt: skip
    assert len(reports) == 3
    assert [("_Comparison_" in Path(p).name) for p in reports] == [False, False, True]
    assert all(Path(p).is_file() and Path(p).read_bytes().startswith(b"%PDF") for p in reports)


def test_analyze_of_a_question_prints_the_sections_and_the_answer(tmp_path: Path) -> None:
    code, text = _run(["analyze", "is Nvidia oversold?", "--reports-dir", str(tmp_path)])
    assert code == 0
    assert text.index(TITLES[0]) < text.index("ANSWER:") < text.index("Report: ")
    assert "RSI (14): " in text.split("ANSWER:")[1]


def test_analyze_json_prints_the_full_response(tmp_path: Path) -> None:
    code, text = _run(["analyze", "Analyze $AAPL", "--json", "--reports-dir", str(tmp_path)])
    assert code == 0
    response = json.loads(text)
    assert response["tickers"] == ["AAPL"]
    assert response["results"][0]["report"]["bytes"] > 0


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        ([], 2, "required"),
        (["frobnicate"], 2, "invalid choice"),
        (["analyze"], 2, "prompt"),
        (["analyze", ""], 2, "invalid_prompt"),
        (["analyze", "CAN you analyze STOCK"], 2, "no_ticker"),
        (["analyze", "AAPL MSFT TSLA NVDA AMZN GOOGL"], 2, "too_many_tickers"),
        (["analyze", "Analyze ZZZZ"], 2, "unknown_ticker"),
        (["analyze", "AAPL", "--model-provider", "openai"], 2, "OPENAI_BASE_URL"),
        (["serve", "--port", "0"], 2, "port"),
        (["serve", "--port", "eighty"], 2, "invalid int"),
        (["mcp", "--http", "--port", "65536"], 2, "port"),
        (["mcp", "--data-provider", "carrier-pigeon"], 2, "invalid choice"),
        (["mcp", "--model-provider", "openai"], 2, "OPENAI_BASE_URL"),
        (["invoke", "AAPL", "--url", "ftp://x"], 2, "http"),
        (["invoke", "AAPL", "--url", "http://x", "--runtime-arn", "arn"], 2, "not allowed"),
        (["invoke", "AAPL", "--url", "http://127.0.0.1:9", "--session-id", "short"], 2, "33"),
        (["invoke", "--url", "http://127.0.0.1:9"], 2, "give one prompt"),
        (["invoke", "AAPL", "{}", "--url", "http://127.0.0.1:9"], 2, "give one prompt"),
        (["invoke", "--mcp", "get_figure", "{symbol}", "--url", "http://x/mcp"], 2, "not JSON"),
        (["invoke", "--mcp", "get_figure", "[1]", "--url", "http://x/mcp"], 2, "JSON object"),
        (["invoke", "--mcp", "--runtime-arn", "arn:aws:x"], 2, "--stack-name or --url"),
        (["invoke", "--mcp", "--url", "ftp://x/mcp"], 2, "http(s) URL"),
    ],
)
def test_bad_input_is_one_line_on_stderr(
    argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if argv and argv[0] == "analyze":
        argv = [*argv, "--reports-dir", str(tmp_path)]
    assert _run(argv)[0] == code
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_unreachable_url_is_a_runtime_failure(capsys: pytest.CaptureFixture[str]) -> None:
    """Port 9 (discard) is closed on loopback: exit 1, one line, no traceback."""
    code, _ = _run(["invoke", "Analyze AAPL", "--url", "http://127.0.0.1:9", "--timeout", "2"])
    assert code == 1
    err = capsys.readouterr().err
    assert "cannot reach" in err and "Traceback" not in err


def test_eval_outside_a_checkout_says_where_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An installed package without the repository beside it has no harness to run."""
    from stock_agent import cli

    monkeypatch.setattr(cli, "REPOSITORY", tmp_path)
    code, text = _run(["eval", "--url", "http://127.0.0.1:1"])
    assert (code, text) == (2, "")
    error = capsys.readouterr().err
    assert "eval runs from a repository checkout" in error and "python -m eval" in error


def test_eval_hands_its_arguments_and_exit_code_to_the_harness(tmp_path: Path) -> None:
    """From the checkout, ``stock-agent eval`` is ``python -m eval``: same options, same
    exit status, the harness's output on ours."""
    code, text = _run(["eval", "--thresholds", str(tmp_path / "missing.toml")])
    assert code == 2
    assert text.startswith("eval: ") and "missing.toml" in text
