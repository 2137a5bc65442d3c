"""``stock-agent``: analyse locally, serve the AgentCore contract, or call a deployed agent.

Commands::

    stock-agent analyze "Analyze SIM_STOCK for investment purposes" [--json]
    stock-agent serve [--host 127.0.0.1] [--port 8080]
    stock-agent chat [--session ID] [--db .stock-agent/sessions.sqlite]
    stock-agent invoke "Compare AAPL and MSFT" --url http://127.0.0.1:8080
    stock-agent invoke "..." --runtime-arn arn:aws:bedrock-agentcore:...  [--qualifier live]
    stock-agent invoke "..." --stack-name GptOssAgent-dev-Runtime    (reads the stack outputs)
    stock-agent eval [--url URL | --runtime-arn ARN]   (the golden set; repository checkout only)
    stock-agent backtest AAPL [--since 2018-01-01] [--json]   (the technical score's track record)

Settings come from the environment (:mod:`stock_agent.context`); the options
``--reports-dir``, ``--model-provider``, ``--openai-base-url``,
``--openai-model`` and ``--data-provider`` override them. Bad input is a
one-line message on stderr: exit 2 for usage and settings errors, 1 for a
failure at run time; never a traceback.

``invoke`` prints the three sections of the answer and survives what the
public sample's parser did not: a missing section, an error body, a non-JSON
or non-object body, or a stream of server-sent events. It does not trust
the server: ``--timeout`` is a total, the answer is capped at
``--max-bytes``, a stream that ends before its result event exits 1 naming
what is missing, and everything the server sent is printed through
:func:`stock_agent.invoke_http.terminal_safe` (no escape sequence reaches
the terminal).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from .backtest_cli import register as register_backtest
from .context import MODEL_PROVIDERS, AgentContext, ConfigError
from .contract import SECTION_TITLES
from .customize_cli import register as register_customization
from .errors import AgentError
from .invoke_http import DEFAULT_MAX_RESPONSE_BYTES, InvokeFailure, post_json, terminal_safe

logger = logging.getLogger(__name__)

DEFAULT_STACK_NAME = "GptOssAgent-dev-Runtime"
DEFAULT_QUALIFIER = "DEFAULT"
# Above the deployed REQUEST_DEADLINE_SECONDS (300 s) with a margin for the work that
# follows a late model (fallback narrative, PDF, upload); below AgentCore's 900 s cut-off.
INVOKE_READ_TIMEOUT_S = 360
INVOKE_CONNECT_TIMEOUT_S = 10
MIN_SESSION_ID_CHARS = 33  # AgentCore's runtimeSessionId minimum


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

    invoke = sub.add_parser("invoke", help="call a deployed agent runtime or a local server")
    invoke.add_argument("prompt")
    target = invoke.add_mutually_exclusive_group()
    target.add_argument("--url", help="a local server, e.g. http://127.0.0.1:8080")
    target.add_argument("--runtime-arn", help="the AgentCore runtime ARN")
    target.add_argument(
        "--stack-name",
        help=f"read RuntimeArn from this CloudFormation stack (default {DEFAULT_STACK_NAME})",
    )
    invoke.add_argument(
        "--qualifier", help="runtime endpoint name (default: the stack's, or DEFAULT)"
    )
    invoke.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    invoke.add_argument(
        "--session-id", help=f"runtime session id (>= {MIN_SESSION_ID_CHARS} chars)"
    )
    invoke.add_argument("--json", action="store_true", help="print the raw JSON response")
    invoke.add_argument(
        "--download", metavar="DIR", help="save the response's PDF reports into DIR"
    )
    invoke.add_argument("--user-id", help="runtime user id: the actor whose session this is")
    invoke.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=INVOKE_READ_TIMEOUT_S,
        help=f"total time limit in seconds (default {INVOKE_READ_TIMEOUT_S})",
    )
    invoke.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_RESPONSE_BYTES,
        help=f"largest answer accepted (default {DEFAULT_MAX_RESPONSE_BYTES})",
    )
    invoke.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    # Listed for --help only: main() hands everything after "eval" to the harness.
    sub.add_parser("eval", help="run the evaluation golden set (see python -m eval --help)")
    register_customization(sub)  # dataset build, train (stock_agent.customize_cli)
    register_backtest(sub)  # the track record (stock_agent.backtest_cli)
    return parser


def _context(args: argparse.Namespace) -> AgentContext:
    try:
        return AgentContext.from_env(
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
    from urllib.parse import unquote, urlparse

    paths = []
    for result in response.get("results", []):
        uri = result["report"]["uri"]
        parsed = urlparse(uri)
        paths.append(unquote(parsed.path) if parsed.scheme == "file" else uri)
    return paths


def cmd_analyze(args: argparse.Namespace, out: TextIO) -> int:
    from .agent import StockAgent
    from .contract import validate_payload

    ctx = _context(args)
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
    from .chat import new_session_id, run_chat, terminal_lines
    from .contract import validate_payload

    ctx = _context(args)
    try:
        ctx = AgentContext.from_env(
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
    interactive = sys.stdin.isatty()
    run_chat(
        agent,
        terminal_lines() if interactive else sys.stdin,
        out,
        session_id=session_id.session_id or new_session_id(),
        echo=not interactive,
    )
    return 0


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from . import render_pool
    from .entrypoint import create_app, serve
    from .http_guard import GuardSettings

    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port} is not a TCP port", exit_code=2)
    ctx = _context(args)
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


# ---------------------------------------------------------------------------
# invoke
# ---------------------------------------------------------------------------


def _sse_events(text: str) -> list[Any]:
    """The JSON values of the ``data:`` lines of a server-sent-events body."""
    events = []
    for line in text.splitlines():
        if line.startswith("data:"):
            try:
                events.append(json.loads(line[5:].strip()))
            except ValueError:
                events.append(line[5:].strip())
    return events


def render_invoke_body(body: bytes | str | None, *, content_type: str = "") -> tuple[str, int]:
    """Human-readable text of an agent's answer and the exit code it deserves.

    Never raises: a body that is not what we expect is shown as it is, with a
    note, so a person can still read whatever the runtime sent.
    """
    if body is None:
        return "(empty response)\n", 1
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
    if not text.strip():
        return "(empty response)\n", 1
    value: Any
    if "text/event-stream" in content_type or text.lstrip().startswith("data:"):
        events = _sse_events(text)
        value = next(
            (
                e
                for e in reversed(events)
                if isinstance(e, dict) and e.get("event") in ("result", "error")
            ),
            None,
        )
        if value is None:
            return _truncated_stream(events), 1
    else:
        try:
            value = json.loads(text)
        except ValueError:
            return f"(the response is not JSON; shown as received)\n{text.rstrip()}\n", 1
    if isinstance(value, str):
        # Some runtimes wrap the JSON answer in a JSON string.
        try:
            value = json.loads(value)
        except ValueError:
            return value.rstrip() + "\n", 0
    if not isinstance(value, dict):
        return f"(unexpected response, shown as received)\n{text.rstrip()}\n", 1
    error = value.get("error")
    if error is not None:
        if isinstance(error, dict):
            return f"error {error.get('code', '?')}: {error.get('message', '')}\n", 1
        return f"error: {error}\n", 1
    return _render_sections(value), 0


def _truncated_stream(events: list[Any]) -> str:
    """What a stream cut off before its result event did deliver, and what is missing."""
    stages = [
        f"{e.get('stage')}{' ' + str(e['symbol']) if e.get('symbol') else ''}"
        for e in events
        if isinstance(e, dict) and e.get("event") == "stage"
    ]
    last = f"; the last was {stages[-1]}" if stages else ""
    return (
        "(the stream ended before its result event: no answer and no error arrived; "
        f"{len(events)} progress event(s){last})\n"
    )


def _render_sections(response: dict[str, Any]) -> str:
    """The three sections, from each result's ``sections``; missing ones are named."""
    results = response.get("results")
    if not isinstance(results, list) or not results:
        text = response.get("text")
        if isinstance(text, str) and text.strip():
            return text if text.endswith("\n") else text + "\n"
        return "(no results in the response)\n" + json.dumps(response, indent=2)[:2000] + "\n"
    blocks = []
    multi = len(results) > 1
    for name, title in SECTION_TITLES.items():
        parts = [f"{title}:\n" + "=" * 40]
        for result in results:
            result_dict = result if isinstance(result, dict) else {}
            symbol = str(result_dict.get("symbol", "?"))
            sections = result_dict.get("sections")
            body = sections.get(name) if isinstance(sections, dict) else None
            if not isinstance(body, str) or not body.strip():
                body = f"(section missing for {symbol})"
            parts.append(f"--- {symbol} ---\n{body}" if multi else body)
        blocks.append("\n".join(parts))
    comparison = response.get("comparison")
    if isinstance(comparison, dict):
        raw_report = comparison.get("report")
        report: dict[str, Any] = raw_report if isinstance(raw_report, dict) else {}
        blocks.append(
            "COMPARISON:\n" + "=" * 40 + f"\n{comparison.get('narrative', '')}\n"
            f"Comparison report: {report.get('url') or report.get('uri', '(none)')}"
        )
    warnings = response.get("warnings")
    if isinstance(warnings, list) and warnings:
        blocks.append("WARNINGS:\n" + "\n".join(f"- {w}" for w in warnings))
    if response.get("degraded"):
        blocks.append(f"DEGRADED: {response.get('degraded_reason') or 'yes'}")
    return "\n\n".join(blocks) + "\n"


def _invoke_url(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float,
    max_bytes: int,
    user_id: str | None = None,
) -> tuple[bytes, str]:
    if not url.startswith(("http://", "https://")):
        raise CliError(f"--url {url!r} is not an http(s) URL", exit_code=2)
    try:
        reply = post_json(url, payload, timeout_s=timeout, max_bytes=max_bytes, user_id=user_id)
    except InvokeFailure as err:
        raise CliError(err.message) from None
    return reply.body, reply.content_type


def runtime_from_stack(cfn: Any, stack_name: str) -> tuple[str, str | None]:
    """``(RuntimeArn, RuntimeEndpointName)`` from the runtime stack's outputs."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except (BotoCoreError, ClientError) as err:
        raise CliError(f"cannot read stack {stack_name}: {err}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    arn = outputs.get("RuntimeArn")
    if not arn:
        raise CliError(f"stack {stack_name} has no RuntimeArn output")
    return arn, outputs.get("RuntimeEndpointName")


def runtime_client(*, region: str | None, read_timeout: float = INVOKE_READ_TIMEOUT_S) -> Any:
    """A ``bedrock-agentcore`` client with explicit timeouts (botocore's default read is 60 s)."""
    import boto3
    from botocore.config import Config

    config = Config(
        read_timeout=max(read_timeout, INVOKE_READ_TIMEOUT_S),
        connect_timeout=INVOKE_CONNECT_TIMEOUT_S,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    return boto3.client("bedrock-agentcore", region_name=region, config=config)


def invoke_runtime(
    client: Any,
    *,
    arn: str,
    payload: dict[str, Any],
    qualifier: str,
    session_id: str,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    user_id: str | None = None,
) -> tuple[bytes, str]:
    """Call ``invoke_agent_runtime``; the whole body (at most ``max_bytes``) and its type."""
    from botocore.exceptions import BotoCoreError, ClientError

    extra = {"runtimeUserId": user_id} if user_id else {}
    try:
        response = client.invoke_agent_runtime(
            agentRuntimeArn=arn,
            runtimeSessionId=session_id,
            payload=json.dumps(payload),
            qualifier=qualifier,
            contentType="application/json",
            accept="application/json",
            **extra,
        )
        body = response.get("response")
        data = body.read(max_bytes + 1) if hasattr(body, "read") else body
    except (BotoCoreError, ClientError) as err:
        raise CliError(f"invoke_agent_runtime failed: {err}") from None
    if isinstance(data, str):
        data = data.encode()
    if data and len(data) > max_bytes:
        raise CliError(f"the response is larger than the {max_bytes}-byte limit (--max-bytes)")
    return (data or b""), str(response.get("contentType", ""))


def _within_total(seconds: float, call: Any) -> Any:
    """``call()`` in a helper thread, for ``seconds`` in total (botocore times each read)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as err:  # handed to the caller below
            outcome["error"] = err

    worker = threading.Thread(target=run, name="invoke-runtime", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise CliError(f"no complete answer within the {seconds:g} s limit")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def cmd_invoke(args: argparse.Namespace, out: TextIO) -> int:
    session_id = args.session_id or f"stock-agent-cli-{uuid.uuid4().hex}"
    if len(session_id) < MIN_SESSION_ID_CHARS:
        raise CliError(
            f"--session-id must have at least {MIN_SESSION_ID_CHARS} characters", exit_code=2
        )
    if args.max_bytes < 1:
        raise CliError("--max-bytes must be a positive number of bytes", exit_code=2)
    payload = {"prompt": args.prompt, "session_id": session_id}
    if args.url:
        body, content_type = _invoke_url(
            args.url,
            payload,
            timeout=args.timeout,
            max_bytes=args.max_bytes,
            user_id=args.user_id,
        )
    else:
        import boto3
        from botocore.exceptions import BotoCoreError

        arn, qualifier = args.runtime_arn, args.qualifier
        try:
            if not arn:
                cfn = boto3.client("cloudformation", region_name=args.region)
                stack = args.stack_name or DEFAULT_STACK_NAME
                arn, stack_qualifier = runtime_from_stack(cfn, stack)
                qualifier = qualifier or stack_qualifier
            client = runtime_client(region=args.region, read_timeout=args.timeout)
        except BotoCoreError as err:  # no region, no credentials configuration, ...
            raise CliError(f"AWS is not configured: {err}", exit_code=2) from None
        body, content_type = _within_total(
            args.timeout,
            lambda: invoke_runtime(
                client,
                arn=arn,
                payload=payload,
                qualifier=qualifier or DEFAULT_QUALIFIER,
                session_id=session_id,
                max_bytes=args.max_bytes,
                user_id=args.user_id,
            ),
        )
    saved: list[str] = []
    if args.download:
        from .downloads import DownloadError, save_reports

        try:
            saved = save_reports(body, content_type=content_type, folder=args.download)
        except DownloadError as err:
            raise CliError(f"--download: {err}") from None
    if args.json:
        out.write(terminal_safe(body.decode("utf-8", errors="replace").rstrip()) + "\n")
        return 0
    text, code = render_invoke_body(body, content_type=content_type)
    out.write(terminal_safe(text))
    for path in saved:
        out.write(terminal_safe(f"Saved: {path}\n"))
    return code


def cmd_eval(argv: Sequence[str], out: TextIO) -> int:
    """``stock-agent eval``: the harness in the repository's ``eval/`` folder.

    The harness (golden set, graders, pypdf) is not part of this package, so
    the agent image does not carry it; from a checkout it is found next to
    ``agent_runtime/``.
    """
    repo = Path(__file__).resolve().parents[2]
    if not (repo / "eval" / "cli.py").is_file():
        raise CliError("eval runs from a repository checkout (no eval/ folder here)", exit_code=2)
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    from eval.cli import main as eval_main

    return eval_main(list(argv), out=out)


COMMANDS = {"analyze": cmd_analyze, "chat": cmd_chat, "serve": cmd_serve, "invoke": cmd_invoke}


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Console-script entry point; returns the exit code."""
    stdout = out or sys.stdout
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments[:1] == ["eval"]:
            return cmd_eval(arguments[1:], stdout)
        args = build_parser().parse_args(arguments)
        from .logging_setup import configure_logging

        # Serving logs at the configured level; one-shot commands only say what went wrong.
        level = args.log_level or ("INFO" if args.command == "serve" else "WARNING")
        if args.command == "serve" and not args.log_level:
            level = _context(args).log_level
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
