"""``stock-agent backtest SYMBOL``: the track record of the technical score, as a table.

Registered into the main parser by :func:`register`; the record comes from
:func:`stock_agent.analysis.track_record_for`, the function that feeds the
report, so the table and the PDF section print the same figures (cached per
ticker and day). ::

    stock-agent backtest AAPL [--since 2018-01-01] [--as-of 2026-11-30] [--json]
        [--data-provider simulated|yfinance]

Bad input is one line on stderr, exit 2 (an unknown ticker, a date that is
not YYYY-MM-DD, ``--since`` not before the as-of date); a history that
cannot be had is exit 1 with the reason.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, date, datetime
from typing import Any, TextIO

from .. import formatting
from ..market_data import MarketDataError, UnknownTickerError, get_provider
from ..records import TrackRecord, to_jsonable
from ..settings import AgentSettings, ConfigError
from . import track_record_for

_SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,14}")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _symbol(text: str) -> str:
    if not _SYMBOL.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a ticker (letters, digits, '.', '-' or '_'; up to 15)"
        )
    return text.strip().upper()


def register(sub: Any) -> None:
    """Add ``backtest`` to the ``stock-agent`` subcommands."""
    backtest = sub.add_parser(
        "backtest", help="the track record of the technical score for one ticker"
    )
    backtest.add_argument("symbol", type=_symbol, help="e.g. AAPL")
    backtest.add_argument("--since", type=_day, help="first signal month (default: 10 years back)")
    backtest.add_argument("--as-of", type=_day, help="the last day of data (default: today, UTC)")
    backtest.add_argument("--json", action="store_true", help="print the record as JSON")
    backtest.add_argument("--data-provider", choices=("simulated", "yfinance"))
    backtest.add_argument("--log-level", choices=LOG_LEVELS)
    backtest.set_defaults(handler=cmd_backtest)


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"stock-agent: backtest: {message}\n")
    return code


def cmd_backtest(args: argparse.Namespace, out: TextIO) -> int:
    try:
        ctx = AgentSettings.from_env(data_provider=args.data_provider)
    except ConfigError as err:
        return _fail(f"invalid settings: {err}", 2)
    provider = get_provider(
        ctx.data_provider,
        cache_dir=ctx.market_data_cache_dir,
        cache_ttl_seconds=ctx.market_data_cache_ttl_seconds,
    )
    as_of = args.as_of or datetime.now(UTC).date()
    try:
        record = track_record_for(provider, args.symbol, as_of=as_of, since=args.since)
    except UnknownTickerError as err:
        return _fail(str(err), 2)
    except ValueError as err:
        return _fail(str(err), 2)
    except MarketDataError as err:
        return _fail(err.message, 1)
    if record.source.missing and not record.buckets:
        return _fail(record.reading, 1)
    if args.json:
        out.write(json.dumps(to_jsonable(record), indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(render_table(record))
    return 0


def render_table(record: TrackRecord) -> str:
    """The record as plain text: the bucket table, the edges, the reading, recent signals."""
    header, rows, notes = formatting.track_record_table(record)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    excess = record.benchmark_symbol is not None
    figures = {f.label: f.value for f in formatting.track_record_figures(record)}
    lines = [
        f"{record.symbol} track record ({record.data_source}): {figures['Track Record Signals']}",
        f"Forward {record.measure}; {record.interval}.",
        "",
        line(header),
        *(line(row) for row in rows),
        "* price-only outlook: fundamental score held at 3, risk from prices only.",
        *notes,
        "",
        *(f"Scores 4-5 vs 1-2 ({e.horizon}): {formatting.fmt_edge(e)}" for e in record.edges),
        record.reading,
        "",
        "Recent signals (latest first):",
        *(f"- {formatting.fmt_signal(s, excess=excess)}" for s in reversed(record.recent)),
        "",
        record.not_point_in_time,
    ]
    return "\n".join(lines) + "\n"
