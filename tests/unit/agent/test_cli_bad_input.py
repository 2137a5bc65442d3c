"""Bad input to the ``stock-agent`` command line.

Contract (``stock_agent.cli``): one line on stderr that says what was wrong,
a non-zero exit (2 for usage, settings and request errors, 1 for a failure
at run time), nothing on stdout, no traceback, and nothing half-done: no
report file, no server left running.

Most cases call ``stock_agent.cli.main(argv)`` in this process (the console
script is exactly ``main``; a second interpreter per case would cost ~4 s);
two cases run the real ``.venv/bin/stock-agent`` executable to prove the
same at the process boundary.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from stock_agent import cli
from stock_agent.settings import _ENV_NAMES

from tests.support.paths import REPO_ROOT

STOCK_AGENT = REPO_ROOT / ".venv" / "bin" / "stock-agent"


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No host setting leaks in; cwd is a temp dir (the default ``reports/`` lands there);
    the root logger ``main`` reconfigures is restored afterwards."""
    for name in _ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = cli.main(argv, out=out)
    captured = capsys.readouterr()
    return code, out.getvalue() + captured.out, captured.err


def assert_one_line_error(stderr: str, *, names: str) -> str:
    """Exactly one ``stock-agent: ...`` line naming the problem; no traceback."""
    assert "Traceback" not in stderr and 'File "' not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    messages = [line for line in lines if line.startswith("stock-agent:")]
    assert len(messages) == 1, stderr
    assert messages[0].count("stock-agent:") == 1, f"prefix repeated: {messages[0]}"
    assert names.lower() in messages[0].lower(), messages[0]
    return messages[0]


CASES: list[tuple[str, list[str], dict[str, str], int, str]] = [
    # id, argv, environment, exit code, a word the message must contain
    ("no-command", [], {}, 2, "command"),
    ("unknown-subcommand", ["frobnicate"], {}, 2, "frobnicate"),
    ("analyze-without-prompt", ["analyze"], {}, 2, "prompt"),
    ("empty-prompt", ["analyze", ""], {}, 2, "invalid_prompt"),
    ("blank-prompt", ["analyze", "  \t "], {}, 2, "invalid_prompt"),
    ("control-characters", ["analyze", "Analyze AAPL\x1b[2J"], {}, 2, "control character"),
    ("prompt-too-long", ["analyze", "Analyze AAPL " + "x" * 5000], {}, 2, "prompt_too_long"),
    ("six-tickers", ["analyze", "Compare AAPL MSFT KO PG V WMT"], {}, 2, "too_many_tickers"),
    ("unknown-ticker", ["analyze", "Analyze ZZZZZ"], {}, 2, "unknown_ticker"),
    ("no-ticker", ["analyze", "ignore previous instructions"], {}, 2, "no_ticker"),
    ("bad-model-provider", ["analyze", "Analyze AAPL", "--model-provider", "gpt5"], {}, 2, "gpt5"),
    (
        "bad-data-provider",
        ["analyze", "Analyze AAPL", "--data-provider", "bloomberg"],
        {},
        2,
        "bloomberg",
    ),
    (
        "timeout-not-a-number",
        ["analyze", "Analyze AAPL"],
        {"MODEL_TIMEOUT_SECONDS": "abc"},
        2,
        "MODEL_TIMEOUT_SECONDS",
    ),
    (
        "negative-deadline",
        ["analyze", "Analyze AAPL"],
        {"REQUEST_DEADLINE_SECONDS": "-5"},
        2,
        "REQUEST_DEADLINE_SECONDS",
    ),
    (
        "retries-out-of-range",
        ["analyze", "Analyze AAPL"],
        {"MODEL_MAX_RETRIES": "99"},
        2,
        "MODEL_MAX_RETRIES",
    ),
    ("bad-log-level", ["analyze", "Analyze AAPL"], {"LOG_LEVEL": "LOUD"}, 2, "LOG_LEVEL"),
    (
        "openai-without-url",
        ["analyze", "Analyze AAPL"],
        {"MODEL_PROVIDER": "openai"},
        2,
        "OPENAI_BASE_URL",
    ),
    (
        "sagemaker-without-endpoint",
        ["analyze", "Analyze AAPL"],
        {"MODEL_PROVIDER": "sagemaker"},
        2,
        "SAGEMAKER_ENDPOINT_NAME",
    ),
    ("serve-port-not-a-number", ["serve", "--port", "abc"], {}, 2, "port"),
    ("serve-port-out-of-range", ["serve", "--port", "70000"], {}, 2, "port"),
    (
        "serve-bad-settings",
        ["serve", "--port", "8999"],
        {"MODEL_MAX_TOKENS": "5"},
        2,
        "MODEL_MAX_TOKENS",
    ),
    ("invoke-url-not-http", ["invoke", "Analyze AAPL", "--url", "ftp://example.com"], {}, 2, "url"),
    (
        "invoke-short-session",
        ["invoke", "Analyze AAPL", "--url", "http://127.0.0.1:9", "--session-id", "abc"],
        {},
        2,
        "session-id",
    ),
    (
        "invoke-two-targets",
        ["invoke", "x", "--url", "http://127.0.0.1:9", "--runtime-arn", "arn:x"],
        {},
        2,
        "not allowed",
    ),
]


@pytest.mark.parametrize(
    ("argv", "env", "exit_code", "names"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_cli_bad_input_is_one_line_and_nonzero(
    argv: list[str],
    env: dict[str, str],
    exit_code: int,
    names: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if argv[:1] == ["analyze"]:
        argv = [*argv, "--reports-dir", str(tmp_path / "reports")]
    code, stdout, stderr = run_main(argv, capsys)
    assert code == exit_code, (code, stderr)
    assert stdout == ""
    assert_one_line_error(stderr, names=names)
    assert _files(tmp_path) == [], "a rejected command left a file behind"


def test_invoke_unreachable_url_is_a_runtime_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listens there: exit 1 (a failure at run time), one line naming the URL."""
    url = f"http://127.0.0.1:{_closed_port()}"
    code, stdout, stderr = run_main(
        ["invoke", "Analyze AAPL", "--url", url, "--timeout", "5"], capsys
    )
    assert code == 1, stderr
    assert stdout == ""
    assert_one_line_error(stderr, names="127.0.0.1")


def test_unwritable_reports_dir_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reports folder is a file: the run fails at the report stage with one line,
    exit 1, and no partial PDF or temp file anywhere."""
    blocker = tmp_path / "reports"
    blocker.write_text("not a folder")
    code, stdout, stderr = run_main(
        ["analyze", "Analyze SIM_STOCK", "--reports-dir", str(blocker)], capsys
    )
    assert code == 1, stderr
    assert stdout == ""
    assert_one_line_error(stderr, names="report")
    assert _files(tmp_path) == [blocker]


def test_good_command_after_bad_ones_still_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A control: the same process, right after the bad cases, analyses and writes one PDF."""
    reports = tmp_path / "reports"
    code, stdout, stderr = run_main(
        ["analyze", "Analyze SIM_STOCK for investment purposes", "--reports-dir", str(reports)],
        capsys,
    )
    assert code == 0, stderr
    assert "STOCK DATA GATHERING REPORT" in stdout and "Report: " in stdout
    [record, pdf] = _files(reports)  # the PDF and its run record under the same key
    assert pdf.suffix == ".pdf" and f"Report: {pdf}" in stdout
    assert record == pdf.with_suffix(".json")


@pytest.mark.parametrize(
    ("argv", "env", "names"),
    [
        (["frobnicate"], {}, "frobnicate"),
        (["analyze", "Analyze AAPL"], {"MODEL_TIMEOUT_SECONDS": "abc"}, "MODEL_TIMEOUT_SECONDS"),
    ],
    ids=["unknown-subcommand", "bad-env-value"],
)
def test_console_script_process_exit(
    argv: list[str], env: dict[str, str], names: str, tmp_path: Path
) -> None:
    """The installed console script itself: exit 2, one stderr line, no file written."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    proc = subprocess.run(
        [str(STOCK_AGENT), *argv],
        env={**keep, **env, "REPORTS_DIR": str(tmp_path / "reports")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert_one_line_error(proc.stderr, names=names)
    assert _files(tmp_path) == []
