"""``stock-agent``: analyse locally, serve the AgentCore contract, or call a deployed agent.

Commands::

    stock-agent analyze "Analyze SIM_STOCK for investment purposes" [--json]
    stock-agent serve [--host 127.0.0.1] [--port 8080]
    stock-agent mcp [--http [--host 127.0.0.1] [--port 8000]]   (the tools over MCP)
    stock-agent chat [--session ID] [--db .stock-agent/sessions.sqlite] [--user NAME]
    stock-agent invoke "Compare AAPL and MSFT" --url http://127.0.0.1:8080
    stock-agent invoke "..." --runtime-arn arn:aws:bedrock-agentcore:...  [--qualifier live]
    stock-agent invoke "..." --stack-name GptOssAgent-dev-Runtime    (reads the stack outputs)
    stock-agent invoke --mcp [get_figure '{"symbol": "AAPL", "figure": "beta"}'] [--stack-name ...]
    stock-agent eval [--url URL | --runtime-arn ARN]   (the golden set; repository checkout only)
    stock-agent eval --baseline qualifier:live --candidate qualifier:canary --runtime-arn ARN
                                                        (compare two targets: promote or not)
    stock-agent backtest AAPL [--since 2018-01-01] [--json]   (the technical score's track record)

Settings come from the environment (:mod:`stock_agent.settings`); the options
``--reports-dir``, ``--model-provider``, ``--openai-base-url``,
``--openai-model`` and ``--data-provider`` override them. Bad input is a
one-line message on stderr: exit 2 for usage and settings errors, 1 for a
failure at run time; never a traceback.

``invoke`` is the client of :mod:`stock_agent.client.remote`; everything the
server sent is printed through :func:`stock_agent.client.invoke_http.terminal_safe`
(no escape sequence reaches the terminal). ``eval`` runs ``python -m eval`` from
the repository checkout this package is installed from (the harness is not part
of the package).

This module is the parser and the dispatch; the work lives in the wings.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from . import bounded_json
from .analysis.cli import register as register_backtest
from .client import model_wait, remote
from .client.invoke_http import DEFAULT_MAX_RESPONSE_BYTES, is_loopback_url, terminal_safe
from .customize.cli import register as register_customization
from .errors import AgentError
from .settings import MODEL_PROVIDERS, AgentSettings, ConfigError

logger = logging.getLogger(__name__)

# The checkout the package runs from: this file is agent_runtime/stock_agent/cli.py.
REPOSITORY = Path(__file__).resolve().parents[2]


class CliError(Exception):
    """A failure to report on one line; ``exit_code`` 2 = usage/settings, 1 = run time."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line (exit 2) instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        # main() already prefixes "stock-agent: "; keep only the subcommand ("analyze: ...").
        where = self.prog.removeprefix("stock-agent").strip()
        prefix = f"{where}: " if where else ""
        raise CliError(f"{prefix}{message} (see --help)", exit_code=2)


def _add_settings(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reports-dir", help="local folder for PDF reports (REPORTS_DIR)")
    parser.add_argument("--model-provider", choices=MODEL_PROVIDERS, help="(MODEL_PROVIDER)")
    parser.add_argument("--openai-base-url", help="OpenAI-compatible base URL (OPENAI_BASE_URL)")
    parser.add_argument("--openai-model", help="served model name (OPENAI_MODEL)")
    parser.add_argument("--model-adapter", help="served LoRA adapter name (MODEL_ADAPTER)")
    parser.add_argument(
        "--data-provider", choices=("simulated", "yfinance"), help="(DATA_PROVIDER)"
    )
    parser.add_argument(
        "--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="(LOG_LEVEL)"
    )


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not in (0, 3600] seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stock-agent", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    analyze = sub.add_parser("analyze", help="run the whole pipeline locally and print the answer")
    analyze.add_argument("prompt", help='e.g. "Analyze SIM_STOCK for investment purposes"')
    analyze.add_argument("--json", action="store_true", help="print the full JSON response")
    _add_settings(analyze)

    chat = sub.add_parser("chat", help="a conversation in the terminal (history in SQLite)")
    chat.add_argument("--session", help="resume this session id (default: a new one)")
    chat.add_argument("--db", help="SQLite file of the sessions (SESSION_DB)")
    chat.add_argument(
        "--user",
        help="whose watchlist and preferences (default: your login name); the same "
        "identity as a runtime user id over HTTP",
    )
    _add_settings(chat)

    serve = sub.add_parser("serve", help="serve the AgentCore HTTP contract")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument(
        "--allow-any-host",
        action="store_true",
        help="answer requests whatever their Host header and Content-Type (for use in a "
        "container behind a proxy; by default only localhost names and JSON are accepted, "
        "which keeps web pages from driving the server)",
    )
    _add_settings(serve)

    mcp = sub.add_parser(
        "mcp",
        help="serve the analyst's tools over MCP: stdio (default) or streamable HTTP",
        description="Serve gather_stock_data, analyze_stock_performance, "
        "generate_stock_report, compare_stocks and get_figure as MCP tools: on stdin/stdout "
        "for a desktop assistant or IDE, or with --http as stateless streamable HTTP at "
        "http://HOST:PORT/mcp (docs/mcp.md).",
    )
    mcp.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    mcp.add_argument("--host", default="127.0.0.1", help="interface with --http (127.0.0.1)")
    mcp.add_argument("--port", type=int, default=8000, help="port with --http (default 8000)")
    mcp.add_argument(
        "--allow-any-host",
        action="store_true",
        help="with --http: answer whatever the Host header and Content-Type (as serve's option)",
    )
    _add_settings(mcp)

    invoke = sub.add_parser("invoke", help="call a deployed agent runtime or a local server")
    invoke.add_argument(
        "prompt", nargs="?", help="the prompt; with --mcp, the tool to call (none: list the tools)"
    )
    invoke.add_argument(
        "arguments",
        nargs="?",
        help='with --mcp: the tool\'s arguments as JSON, e.g. \'{"symbol": "AAPL"}\'',
    )
    invoke.add_argument(
        "--mcp",
        action="store_true",
        help="call the deployed MCP tools through the AgentCore Gateway (--stack-name, default "
        "GptOssAgent-dev-Mcp) or an MCP server (--url http://127.0.0.1:8000/mcp); docs/mcp.md",
    )
    invoke.add_argument("--token", help="with --mcp: a bearer token for the gateway")
    invoke.add_argument(
        "--sigv4", action="store_true", help="with --mcp --url: sign requests (IAM gateway)"
    )
    target = invoke.add_mutually_exclusive_group()
    target.add_argument("--url", help="a local server, e.g. http://127.0.0.1:8080")
    target.add_argument("--runtime-arn", help="the AgentCore runtime ARN")
    target.add_argument(
        "--stack-name",
        help="read RuntimeArn from this CloudFormation stack "
        f"(default {remote.DEFAULT_STACK_NAME})",
    )
    invoke.add_argument(
        "--qualifier", help="runtime endpoint name (default: the stack's, or DEFAULT)"
    )
    invoke.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    invoke.add_argument(
        "--session-id", help=f"runtime session id (>= {remote.MIN_SESSION_ID_CHARS} chars)"
    )
    invoke.add_argument("--json", action="store_true", help="print the raw JSON response")
    invoke.add_argument(
        "--download", metavar="DIR", help="save the response's PDF reports into DIR"
    )
    invoke.add_argument("--user-id", help="runtime user id: the actor whose session this is")
    invoke.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=remote.INVOKE_READ_TIMEOUT_S,
        help=f"total time limit in seconds (default {remote.INVOKE_READ_TIMEOUT_S})",
    )
    invoke.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_RESPONSE_BYTES,
        help=f"largest answer accepted (default {DEFAULT_MAX_RESPONSE_BYTES})",
    )
    invoke.add_argument(
        "--wait-for-model",
        nargs="?",
        type=_positive_seconds,
        const=model_wait.DEFAULT_WAIT_S,
        metavar="SECONDS",
        help="first wait until the deployed model can answer (a dev model idles at zero "
        f"copies and takes minutes to start), at most SECONDS (default "
        f"{model_wait.DEFAULT_WAIT_S}, at most 3600)",
    )
    invoke.add_argument(
        "--model-stack-name",
        help="read EndpointName and InferenceComponentName for --wait-for-model from this "
        "stack (default: the runtime stack's name with -Model, else "
        f"{model_wait.DEFAULT_MODEL_STACK_NAME})",
    )
    invoke.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    # Listed for --help only: main() hands everything after "eval" to the harness.
    sub.add_parser("eval", help="run the evaluation golden set (see python -m eval --help)")
    register_customization(sub)  # dataset build, train (stock_agent.customize.cli)
    register_backtest(sub)  # the track record (stock_agent.analysis.cli)
    return parser


def _settings(args: argparse.Namespace) -> AgentSettings:
    try:
        return AgentSettings.from_env(
            reports_dir=getattr(args, "reports_dir", None),
            model_provider=getattr(args, "model_provider", None),
            openai_base_url=getattr(args, "openai_base_url", None),
            openai_model=getattr(args, "openai_model", None),
            model_adapter=getattr(args, "model_adapter", None),
            data_provider=getattr(args, "data_provider", None),
            log_level=getattr(args, "log_level", None),
        )
    except ConfigError as err:
        raise CliError(f"invalid settings: {err}", exit_code=2) from None


# ---------------------------------------------------------------------------
# analyze / serve
# ---------------------------------------------------------------------------


def _report_path(response: dict[str, Any]) -> list[str]:
    """Where each PDF of the response is: one per ticker, then the comparison's, if any."""
    from urllib.parse import unquote, urlparse

    reports = [result["report"] for result in response.get("results", [])]
    comparison = response.get("comparison")
    if isinstance(comparison, dict) and isinstance(comparison.get("report"), dict):
        reports.append(comparison["report"])
    paths = []
    for report in reports:
        parsed = urlparse(report["uri"])
        paths.append(unquote(parsed.path) if parsed.scheme == "file" else report["uri"])
    return paths


def cmd_analyze(args: argparse.Namespace, out: TextIO) -> int:
    from .agent import StockAgent
    from .contract import validate_payload

    ctx = _settings(args)
    try:
        request = validate_payload({"prompt": args.prompt})
        agent = StockAgent(ctx=ctx)
        response = agent.invoke(request.prompt, request_id=str(uuid.uuid4()))
    except ConfigError as err:
        raise CliError(f"invalid settings: {err}", exit_code=2) from None
    except AgentError as err:
        exit_code = 2 if err.http_status in (400, 413, 422) else 1
        raise CliError(f"{err.code}: {err.message}", exit_code=exit_code) from None
    if args.json:
        out.write(json.dumps(response, indent=2, ensure_ascii=False) + "\n")
        return 0
    out.write(response["text"])
    for path in _report_path(response):
        out.write(f"Report: {path}\n")
    return 0


def cmd_chat(args: argparse.Namespace, out: TextIO) -> int:
    from .agent import StockAgent
    from .client.chat import new_session_id, run_chat, terminal_lines
    from .contract import validate_payload
    from .memory.checkpoints import user_id_problem

    ctx = _settings(args)
    try:
        ctx = AgentSettings.from_env(
            {}, **{**vars(ctx), "memory_backend": "sqlite", "session_db": args.db or ctx.session_db}
        )
        session_id = validate_payload(
            {"prompt": "-", "session_id": args.session or new_session_id()}
        )
        agent = StockAgent(ctx=ctx)
        _ = agent.checkpointer
    except ConfigError as err:
        raise CliError(f"invalid settings: {err}", exit_code=2) from None
    except AgentError as err:
        raise CliError(f"--session: {err.message}", exit_code=2) from None
    user = args.user if args.user is not None else _login_name()
    problem = user_id_problem(user)
    if problem:
        raise CliError(f"--user: {problem}", exit_code=2)
    interactive = sys.stdin.isatty()
    run_chat(
        agent,
        terminal_lines() if interactive else sys.stdin,
        out,
        session_id=session_id.session_id or new_session_id(),
        echo=not interactive,
        actor=f"user:{user}",
    )
    return 0


def _login_name() -> str:
    """The OS user running the chat: a laptop's one user is who the memory belongs to."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "local"


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from .reports import render_pool
    from .server.entrypoint import create_app, serve
    from .server.http_guard import GuardSettings

    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port} is not a TCP port", exit_code=2)
    ctx = _settings(args)
    deadline_s = ctx.request_deadline_seconds
    guard = (
        GuardSettings.container(request_deadline_s=deadline_s)
        if args.allow_any_host
        else GuardSettings.local(bound_host=args.host, request_deadline_s=deadline_s)
    )
    try:
        app = create_app(
            ctx=ctx,
            build_in_background=True,
            guard=guard,
            render_workers=render_pool.usable_cores(),
        )
    except ConfigError as err:
        raise CliError(f"invalid settings: {err}", exit_code=2) from None
    logger.info("serving", extra={"host": args.host, "port": args.port})
    serve(app, host=args.host, port=args.port)
    return 0


def cmd_mcp(args: argparse.Namespace, out: TextIO) -> int:
    """``stock-agent mcp``: the tools on stdio (logs on stderr), or on loopback HTTP."""
    import anyio

    from .mcp.toolbox import Toolbox

    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port} is not a TCP port", exit_code=2)
    ctx = _settings(args)
    try:
        toolbox = Toolbox.from_settings(ctx)
    except ConfigError as err:
        raise CliError(f"invalid settings: {err}", exit_code=2) from None
    if not args.http:
        from .mcp.server import serve_stdio

        anyio.run(serve_stdio, toolbox)
        return 0
    from .mcp.http import MCP_PATH, create_http_app, serve_http
    from .server.http_guard import GuardSettings

    deadline_s = ctx.request_deadline_seconds
    guard = (
        GuardSettings.container(request_deadline_s=deadline_s)
        if args.allow_any_host
        else GuardSettings.local(bound_host=args.host, request_deadline_s=deadline_s)
    )
    logger.info("serving MCP", extra={"url": f"http://{args.host}:{args.port}{MCP_PATH}"})
    serve_http(create_http_app(toolbox, guard=guard), host=args.host, port=args.port)
    return 0


def _tool_arguments(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = bounded_json.loads(text)
    except ValueError as err:  # not JSON, or nested deeper than the limit
        raise CliError(f"invoke: the tool arguments are not JSON: {err}", exit_code=2) from None
    if not isinstance(value, dict):
        raise CliError("invoke: the tool arguments must be a JSON object", exit_code=2)
    return value


def cmd_invoke_mcp(args: argparse.Namespace, out: TextIO) -> int:
    """``stock-agent invoke --mcp [TOOL [JSON]]``: list the deployed tools, or call one."""
    import boto3

    from .mcp import gateway

    if args.runtime_arn:
        raise CliError("invoke: --mcp calls a gateway: give --stack-name or --url", exit_code=2)
    arguments = _tool_arguments(args.arguments)
    try:
        if args.url:
            auth: gateway.GatewayAuth = "aws_iam" if args.sigv4 else "none"
            region = args.region or gateway.region_of(args.url)
            endpoint = gateway.McpEndpoint(url=args.url, auth=auth, region=region)
        else:
            stack = args.stack_name or gateway.DEFAULT_MCP_STACK_NAME
            cfn = boto3.client("cloudformation", region_name=args.region)
            endpoint = gateway.endpoint_from_stack(cfn, stack)
        region = args.region or endpoint.region
        token = args.token
        if endpoint.auth == "cognito" and not token:
            cognito = boto3.client("cognito-idp", region_name=region)
            token = gateway.client_credentials_token(endpoint, cognito=cognito)
        credentials = None
        if endpoint.auth == "aws_iam":
            credentials = boto3.Session(region_name=region).get_credentials()
        answer = gateway.call_remote(
            endpoint,
            tool=args.prompt,
            arguments=arguments,
            token=token,
            credentials=credentials,
            timeout=args.timeout,
        )
    except remote.RemoteError as err:
        raise CliError(err.message, exit_code=err.exit_code) from None
    if answer.called is None:
        if args.json:
            tools = [
                t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in answer.tools
            ]
            out.write(terminal_safe(json.dumps(tools, indent=2, ensure_ascii=False)) + "\n")
            return 0
        for tool in answer.tools:
            out.write(terminal_safe(f"{tool.name}: {tool.title or tool.description or ''}\n"))
        return 0
    result = answer.result
    if args.json:
        dumped = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        out.write(terminal_safe(json.dumps(dumped, indent=2, ensure_ascii=False)) + "\n")
    else:
        texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
        out.write(terminal_safe("\n".join(texts).rstrip()) + "\n")
    return 1 if result.is_error else 0


def _say(line: str) -> None:
    """A progress line on stderr: stdout keeps the answer (and --json stays JSON)."""
    sys.stderr.write(f"stock-agent: {terminal_safe(line)}\n")


def cmd_invoke(args: argparse.Namespace, out: TextIO) -> int:
    if args.mcp:
        return cmd_invoke_mcp(args, out)
    if args.prompt is None or args.arguments is not None:
        raise CliError(
            "invoke: give one prompt (a tool and its arguments go with --mcp)", exit_code=2
        )
    try:
        if args.wait_for_model is not None:
            if args.url:
                raise CliError(
                    "--wait-for-model waits for a deployed model, not --url", exit_code=2
                )
            model_wait.wait_for_deployed_model(
                region=args.region,
                model_stack_name=args.model_stack_name
                or model_wait.model_stack_for(args.stack_name or remote.DEFAULT_STACK_NAME),
                timeout_s=args.wait_for_model,
                say=_say,
            )
        # --timeout is the answer's and then every report's it downloads (not the model wait).
        deadline = time.monotonic() + args.timeout
        body, content_type = remote.invoke(
            args.prompt,
            url=args.url,
            runtime_arn=args.runtime_arn,
            stack_name=args.stack_name,
            qualifier=args.qualifier,
            region=args.region,
            session_id=args.session_id or f"stock-agent-cli-{uuid.uuid4().hex}",
            user_id=args.user_id,
            timeout=args.timeout,
            max_bytes=args.max_bytes,
        )
    except remote.RemoteError as err:
        raise CliError(err.message, exit_code=err.exit_code) from None
    saved: list[str] = []
    if args.download:
        from .client.downloads import DownloadError, save_reports

        try:
            saved = save_reports(
                body,
                content_type=content_type,
                folder=args.download,
                deadline=deadline,
                # Only a server on this machine may point at files on this machine.
                allow_local_files=bool(args.url) and is_loopback_url(args.url),
            )
        except DownloadError as err:
            raise CliError(f"--download: {err}") from None
    if args.json:
        out.write(terminal_safe(body.decode("utf-8", errors="replace").rstrip()) + "\n")
        return 0
    text, code = remote.render_invoke_body(body, content_type=content_type)
    out.write(terminal_safe(text))
    for path in saved:
        out.write(terminal_safe(f"Saved: {path}\n"))
    return code


def cmd_eval(argv: Sequence[str], out: TextIO) -> int:
    """``stock-agent eval``: ``python -m eval`` from the repository checkout, in a child process.

    The harness (golden set, graders, pypdf) is not part of this package, so the
    agent image does not carry it; in a checkout it sits next to ``agent_runtime/``.
    A child process keeps the dependency one way (the harness imports this
    package, never the reverse); it runs in the caller's folder, so relative
    paths in the options mean what they say, and finds ``eval`` through
    ``PYTHONPATH``.
    """
    if not (REPOSITORY / "eval" / "__main__.py").is_file():
        raise CliError(
            "eval runs from a repository checkout (no eval/ folder here); "
            "there, run `python -m eval` or `make eval`",
            exit_code=2,
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPOSITORY), env.get("PYTHONPATH")) if part
    )
    # This interpreter and a fixed module; the arguments are the caller's own options.
    with subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "eval", *argv],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        for line in child.stdout or ():
            out.write(line)
            out.flush()
    return child.returncode


COMMANDS = {
    "analyze": cmd_analyze,
    "chat": cmd_chat,
    "serve": cmd_serve,
    "mcp": cmd_mcp,
    "invoke": cmd_invoke,
}


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Console-script entry point; returns the exit code."""
    stdout = out or sys.stdout
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments[:1] == ["eval"]:
            return cmd_eval(arguments[1:], stdout)
        args = build_parser().parse_args(arguments)
        from .observability.logging_setup import configure_logging

        # Serving logs at the configured level; one-shot commands only say what went wrong.
        serving = args.command == "serve" or (args.command == "mcp" and args.http)
        level = args.log_level or ("INFO" if serving else "WARNING")
        if serving and not args.log_level:
            level = _settings(args).log_level
        configure_logging(level=level)
        handler = getattr(args, "handler", None) or COMMANDS[args.command]
        return int(handler(args, stdout))
    except CliError as err:
        sys.stderr.write(f"stock-agent: {terminal_safe(err.message)}\n")
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # a bug: one line for the user, the trace in the log
        logger.debug("unexpected failure", exc_info=True)
        sys.stderr.write(
            f"stock-agent: unexpected error ({type(err).__name__}); rerun with --log-level DEBUG\n"
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
