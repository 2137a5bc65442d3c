"""The command line the documentation shows is the one that exists: every ``stock-agent``
command in the README and ``docs/`` parses with the real parser, and the defaults and exit
codes they rely on hold."""

from __future__ import annotations

import io
import json
import re
import shlex
from pathlib import Path

import pytest
from stock_agent import cli
from stock_agent.mcp.toolbox import Toolbox
from stock_agent.settings import AgentSettings

from tests.support.mcp_servers import mcp_url, serve_mcp_in_thread
from tests.support.paths import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def _documented_commands() -> list[tuple[str, list[str]]]:
    """``(page, argv)`` of every ``stock-agent`` command in a shell block of the docs
    (continuation lines joined, comments and any pipe into it left out)."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in re.findall(r"```(?:bash|text)\n(.*?)```", text, re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.removeprefix("$ ").strip()
                if "|" in line:  # printf ... | stock-agent chat: the part after the pipe
                    line = line.rsplit("|", 1)[1].strip()
                words = shlex.split(line, comments=True) if "stock-agent" in line else []
                if words and words[0].endswith("stock-agent"):
                    found.append((page.name, words[1:]))
    return found


COMMANDS = _documented_commands()


def test_the_docs_show_the_commands_a_user_needs() -> None:
    shown = {argv[0] for _, argv in COMMANDS if argv}
    # `serve` is shown as `make serve`, which runs it.
    assert {"analyze", "chat", "mcp", "invoke", "backtest", "dataset", "train", "eval"} <= shown


@pytest.mark.parametrize(("page", "argv"), COMMANDS, ids=[" ".join(a)[:60] for _, a in COMMANDS])
def test_every_documented_command_parses(page: str, argv: list[str]) -> None:
    if argv[:1] == ["eval"]:  # handed to the harness whole (python -m eval)
        assert "eval" in cli.build_parser().format_help()
        return
    try:
        cli.build_parser().parse_args(argv)
    except SystemExit as exit_:
        pytest.fail(f"{page}: `stock-agent {' '.join(argv)}` does not parse ({exit_.code})")


def test_the_mcp_server_listens_where_the_docs_say_by_default() -> None:
    """docs/mcp.md serves on 8000 and points every client at :8000/mcp."""
    args = cli.build_parser().parse_args(["mcp", "--http"])
    assert args.port == 8000 and args.allow_any_host is False
    assert cli.build_parser().parse_args(["mcp", "--http", "--allow-any-host"]).allow_any_host


class _Interrupted(io.StringIO):
    """A terminal whose user pressed Ctrl-C at the prompt."""

    def isatty(self) -> bool:
        return False

    def __iter__(self) -> _Interrupted:
        return self

    def __next__(self) -> str:
        raise KeyboardInterrupt


def test_ctrl_c_ends_the_command_with_the_shells_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", _Interrupted())
    out = io.StringIO()
    argv = ["chat", "--db", str(tmp_path / "s.sqlite"), "--reports-dir", str(tmp_path)]
    assert cli.main(argv, out=out) == 130


def test_every_settings_option_reaches_the_settings(tmp_path: Path) -> None:
    argv = [
        "analyze", "Analyze KO", "--reports-dir", str(tmp_path), "--model-provider", "openai",
        "--openai-base-url", "http://127.0.0.1:8000/v1", "--openai-model", "gpt-oss-20b",
        "--model-adapter", "narrator-v1", "--data-provider", "simulated", "--log-level", "ERROR",
    ]  # fmt: skip
    settings = cli._settings(cli.build_parser().parse_args(argv))
    assert (settings.reports_dir, settings.model_provider, settings.openai_base_url) == (
        str(tmp_path),
        "openai",
        "http://127.0.0.1:8000/v1",
    )
    assert (settings.openai_model, settings.model_adapter, settings.served_model) == (
        "gpt-oss-20b",
        "narrator-v1",
        "narrator-v1",
    )
    assert (settings.data_provider, settings.log_level) == ("simulated", "ERROR")


@pytest.mark.slow  # serves the MCP app
def test_a_tool_called_with_json_prints_the_result_as_the_docs_show_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/usage.md shows ``invoke --mcp ... get_figure ... --json``: the tool result as
    JSON indented by two spaces. A real MCP server in a thread answers."""
    toolbox = Toolbox.from_settings(AgentSettings.from_env({}, reports_dir=str(tmp_path)))
    with serve_mcp_in_thread(toolbox) as url:
        out = io.StringIO()
        argv = ["invoke", "--mcp", "--url", mcp_url(url), "get_figure",
                '{"symbol": "AAPL", "figure": "beta"}', "--json"]  # fmt: skip
        assert cli.main(argv, out=out) == 0, capsys.readouterr().err
    printed = out.getvalue()
    assert json.loads(printed)["structuredContent"]["figure"]["label"] == "Beta"
    assert printed.startswith('{\n  "content": [\n    {\n      "type": "text",')
