"""Training datasets from run records: SFT, DPO and GRPO, split by ticker, with a card.

``stock-agent dataset build --from reports/|s3://bucket/prefix --out DIR`` reads
every run record (:mod:`stock_agent.customize.run_records`) and writes::

    DIR/sft/{train,eval}.jsonl    {"messages": [system, user, assistant], ...}
    DIR/dpo/{train,eval}.jsonl    {"prompt": [...], "chosen": [...], "rejected": [...], ...}
    DIR/grpo/{train,eval}.jsonl   {"prompt": [...], "record": {...}, ...}
    DIR/card.json, DIR/README.md  counts, filters, tickers per split, skipped records

These are TRL's conversational formats (SFTTrainer ``messages``; DPOTrainer
``prompt``/``chosen``/``rejected``; GRPOTrainer ``prompt`` plus extra columns
that reach the reward function as keyword arguments).

A run record is data, not instructions: the prompt, the figures an answer
may quote and the system prompt are rebuilt from the record's own snapshot
and analysis with today's :mod:`stock_agent.prompts` and number check; the
file's ``prompt_messages``, ``narrative_input`` and ``allowed_figures`` are
never trusted (a record whose file prompt differs is counted on the card).
Every answer then gets today's verdict: the number check, and the advice and
injection filters of :mod:`stock_agent.customize.reward` (which the agent's
own narratives pass). A record whose data speaks to the model (an
instruction in a company name or a rationale) is skipped.

SFT keeps first-try passes (and teacher answers that pass); DPO pairs a
passing with a failing answer to the same prompt (the regenerate-once path,
and sampled answers); GRPO keeps every prompt with its record.

No ticker is in both splits: a ticker's place is decided by a hash of its
symbol, so the split is stable as data grows. From a folder only regular
files named ``*.json`` are read, at most :data:`MAX_FOLDER_DEPTH` folders
down and :data:`~stock_agent.customize.run_records.MAX_RECORD_BYTES` each;
links (inside or outside the folder), devices and FIFOs are skipped unread.
Every skipped record is counted with its reason on the card. Only the
standard library (and boto3 for ``s3://``) is used: the agent image carries
this module, not the trainers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import formatting
from ..answering.number_check import allowed_figures, check_narrative, payload_figures
from ..memory.session import from_jsonable
from ..models.types import CallProfile, ModelClient, ModelError
from ..prompts import narrative_messages, narrative_payload
from ..records import StockAnalysis, StockSnapshot
from .reward import gives_advice, speaks_to_the_model
from .run_records import MAX_RECORD_BYTES, RunRecordError, parse_run_record

logger = logging.getLogger(__name__)

METHODS = ("sft", "dpo", "grpo")
DEFAULT_EVAL_FRACTION = 0.2
MAX_SAMPLES = 8
SAMPLE_TEMPERATURE = 0.8
SAMPLE_MAX_TOKENS = 1024
# Run records sit at <year>/<month>/<day>/ under the report folder; deeper is not ours.
MAX_FOLDER_DEPTH = 8
# The recorded messages carry their own system prompt; sampling varies the temperature only.
SAMPLE_PROFILE = CallProfile(
    purpose="teacher_sample",
    system_prompt=None,
    max_tokens=SAMPLE_MAX_TOKENS,
    temperature=SAMPLE_TEMPERATURE,
)


class DatasetError(ValueError):
    """The dataset cannot be built (bad source or option); the message says which."""


@dataclass(frozen=True)
class Prompt:
    """One narrative prompt, what it may quote, and every answer it got."""

    symbol: str
    messages: tuple[dict[str, str], ...]
    record: dict[str, Any]
    answers: tuple[tuple[str, bool, str], ...]  # (content, passed, origin), in order
    source_key: str


@dataclass
class BuildReport:
    """Counts of everything the build read, kept and skipped (the card's numbers)."""

    records_read: int = 0
    records_used: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    filtered: Counter[str] = field(default_factory=Counter)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    tickers: dict[str, list[str]] = field(default_factory=dict)
    teacher: dict[str, Any] | None = None


# ---------------------------------------------------------------------------
# reading run records
# ---------------------------------------------------------------------------


def _local_records(root: Path) -> Iterator[tuple[str, bytes | None, str | None]]:
    if not root.is_dir():
        raise DatasetError(f"--from {root}: not a folder")
    yield from _walk(root, root, depth=0)


def _walk(
    root: Path, folder: Path, *, depth: int
) -> Iterator[tuple[str, bytes | None, str | None]]:
    """Regular ``*.json`` files under ``folder``, never through a link, at most
    :data:`MAX_FOLDER_DEPTH` folders below ``root``."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        yield folder.relative_to(root).as_posix(), None, "unreadable"
        return
    for entry in entries:
        key = Path(entry.path).relative_to(root).as_posix()
        if entry.is_symlink():
            yield key, None, "link"  # to a record or a folder, here or elsewhere: unread
        elif entry.is_dir(follow_symlinks=False):
            if depth >= MAX_FOLDER_DEPTH:
                yield key, None, "too_deep"
            else:
                yield from _walk(root, Path(entry.path), depth=depth + 1)
        elif entry.name.endswith(".json"):
            data, problem = _read_regular(entry.path)
            yield key, data, problem


def _read_regular(path: str) -> tuple[bytes | None, str | None]:
    """A regular file's bytes (at most the record cap), opened without following a link
    or waiting on a FIFO; else ``None`` and why."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None, "unreadable"
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None, "not_regular_file"
        if info.st_size > MAX_RECORD_BYTES:
            return None, "too_large"
        try:
            data = handle.read(MAX_RECORD_BYTES + 1)
        except OSError:
            return None, "unreadable"
    if len(data) > MAX_RECORD_BYTES:
        return None, "too_large"
    return data, None


def _s3_records(uri: str, client: Any | None) -> Iterator[tuple[str, bytes | None, str | None]]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise DatasetError(f"--from {uri}: expected s3://bucket[/prefix]")
    if client is None:
        import boto3

        client = boto3.client("s3")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if not key.endswith(".json"):
                    continue
                if obj.get("Size", 0) > MAX_RECORD_BYTES:
                    yield key, None, "too_large"
                    continue
                try:
                    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
                except (BotoCoreError, ClientError) as err:
                    logger.warning("run record unreadable", extra={"key": key, "why": str(err)})
                    yield key, None, "unreadable"
                    continue
                yield key, body, None
    except (BotoCoreError, ClientError) as err:
        raise DatasetError(f"--from {uri}: cannot list the bucket: {err}") from None


def read_run_records(
    source: str, *, s3_client: Any | None = None
) -> Iterator[tuple[str, bytes | None, str | None]]:
    """``(key, bytes, None)`` per run record under ``source``, or ``(key, None, reason)``."""
    if source.startswith("s3://"):
        return _s3_records(source, s3_client)
    return _local_records(Path(source))


def records_of(record: dict[str, Any]) -> tuple[StockSnapshot, StockAnalysis]:
    """The typed snapshot and analysis of a run record (its price history is not stored).

    Raises :class:`RunRecordError` when they cannot be rebuilt.
    """
    inner = record["record"]
    try:
        snapshot_data = dict(inner["snapshot"])
        benchmark = snapshot_data.get("benchmark")
        if isinstance(benchmark, dict):
            snapshot_data["benchmark"] = {**benchmark, "prices": ()}
        snapshot = from_jsonable(StockSnapshot, {**snapshot_data, "prices": ()})
        analysis = from_jsonable(StockAnalysis, dict(inner["analysis"]))
        formatting.key_figures(snapshot, analysis)  # every field in a shape the formatter reads
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise RunRecordError(
            f"record.snapshot/analysis: cannot be rebuilt ({err!r:.120})"
        ) from None
    if snapshot.symbol != record["symbol"]:
        raise RunRecordError("record.snapshot: its symbol is not the record's")
    return snapshot, analysis


def _prompt_from(key: str, record: dict[str, Any], report: BuildReport) -> Prompt | None:
    """The record as a :class:`Prompt` rebuilt from its data; ``None`` when it has no prompt.

    The messages, the narrative input and the allowed figures come from the
    record's snapshot and analysis and today's prompt module, never from the
    file (see the module docstring).
    """
    if not record["prompt_messages"]:
        return None
    snapshot, analysis = records_of(record)
    payload = narrative_payload(
        snapshot=snapshot, analysis=analysis, key_figures=formatting.key_figures(snapshot, analysis)
    )
    messages = tuple(narrative_messages(payload))
    if any(speaks_to_the_model(m["content"]) for m in messages[1:]):
        raise RunRecordError("injection: the record's data carries an instruction to the model")
    if [dict(m) for m in record["prompt_messages"]] != list(messages):
        report.filtered["prompt_rebuilt"] += 1  # a changed prompt module, or an edited file
    allowed = allowed_figures(snapshot=snapshot, analysis=analysis, payload=payload)
    return Prompt(
        symbol=record["symbol"],
        messages=messages,
        record={"narrative_input": payload, "allowed_figures": sorted(allowed)},
        answers=tuple(
            (a["content"], bool(a["passed"]), f"run:{a['attempt']}") for a in record["answers"]
        ),
        source_key=key,
    )


def verdict(text: str, *, allowed: frozenset[str]) -> str | None:
    """Why an answer may not be learned from (today's rules), or ``None`` when it may."""
    if check_narrative(text, allowed=allowed) is not None:
        return "failed_check"
    if gives_advice(text):
        return "advice"
    if speaks_to_the_model(text):
        return "injection"
    return None


def _allowed(record: dict[str, Any]) -> frozenset[str]:
    return frozenset(record["allowed_figures"]) | payload_figures(record["narrative_input"])


# ---------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------


def _digest(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def split_tickers(symbols: Iterable[str], *, eval_fraction: float) -> tuple[set[str], set[str]]:
    """(train, eval) tickers: ``ceil(fraction * n)`` eval tickers chosen by hash of symbol.

    With a single ticker everything is training data (there is nothing to
    hold out without leaking); with two or more, at least one is held out
    whenever ``eval_fraction > 0``.
    """
    if not 0.0 <= eval_fraction < 1.0:
        raise DatasetError(f"--eval-fraction {eval_fraction}: expected a number in [0, 1)")
    ordered = sorted(set(symbols), key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    n_eval = math.ceil(eval_fraction * len(ordered)) if len(ordered) > 1 else 0
    n_eval = min(n_eval, len(ordered) - 1) if ordered else 0
    return set(ordered[n_eval:]), set(ordered[:n_eval])


def _sample(
    client: ModelClient, prompt: Prompt, n: int, report: BuildReport
) -> list[tuple[str, bool, str]]:
    """``n`` answers from ``client`` at a sampling temperature, each with today's verdict."""
    answers = []
    allowed = _allowed(prompt.record)
    for i in range(n):
        try:
            result = client.chat(SAMPLE_PROFILE, prompt.messages)
        except ModelError as err:
            report.filtered[f"teacher_error:{err.code}"] += 1
            continue
        text = result.content.strip()
        why = verdict(text, allowed=allowed)
        if why in ("advice", "injection"):
            report.filtered[f"answer_{why}"] += 1
        answers.append((text, why is None, f"teacher:{i + 1}"))
    return answers


def build_datasets(
    source: str,
    out: Path,
    *,
    eval_fraction: float = DEFAULT_EVAL_FRACTION,
    teacher: ModelClient | None = None,
    teacher_name: str | None = None,
    samples: int = 0,
    s3_client: Any | None = None,
) -> BuildReport:
    """Read run records under ``source``, write the three datasets and the card under ``out``."""
    if not 0 <= samples <= MAX_SAMPLES:
        raise DatasetError(f"--samples {samples}: expected an integer in [0, {MAX_SAMPLES}]")
    if samples and teacher is None:
        raise DatasetError("--samples needs --teacher-url (a model to sample from)")
    report = BuildReport()
    prompts: list[Prompt] = []
    for key, data, problem in read_run_records(source, s3_client=s3_client):
        report.records_read += 1
        if problem is not None:
            report.skipped[problem] += 1
            continue
        try:
            record = parse_run_record(data or b"")
            prompt = _prompt_from(key, record, report)
        except RunRecordError as err:
            reason = str(err).split(":")[0]
            report.skipped[f"invalid:{reason}"] += 1
            logger.info("run record skipped", extra={"key": key, "why": str(err)})
            continue
        if prompt is None:
            report.skipped["no_prompt"] += 1
            continue
        report.records_used += 1
        prompts.append(prompt)

    rows: dict[str, list[dict[str, Any]]] = {m: [] for m in METHODS}
    seen: dict[str, set[str]] = {m: set() for m in METHODS}

    def add(method: str, row: dict[str, Any], *identity: Any) -> None:
        digest = _digest(*identity)
        if digest in seen[method]:
            report.filtered[f"{method}_duplicate"] += 1
            return
        seen[method].add(digest)
        rows[method].append(row)

    for prompt in prompts:
        allowed = _allowed(prompt.record)
        answers = []
        for content, was_passed, origin in prompt.answers:
            why = verdict(content, allowed=allowed)
            if why in ("advice", "injection"):
                report.filtered[f"answer_{why}"] += 1
            passed = why is None
            if passed != was_passed:
                report.filtered["verdict_changed"] += 1
            answers.append((content, passed, origin))
        if teacher is not None:
            answers += _sample(teacher, prompt, max(samples, 1), report)
        base = {"symbol": prompt.symbol, "source_key": prompt.source_key}
        messages = list(prompt.messages)
        for content, passed, origin in answers:
            keep = passed and (origin == "run:1" or origin.startswith("teacher:"))
            if keep:
                add(
                    "sft",
                    {**base, "origin": origin,
                     "messages": [*messages, {"role": "assistant", "content": content}]},
                    messages, content,
                )  # fmt: skip
            elif not passed:
                report.filtered["sft_failed_check"] += 1
            else:
                report.filtered["sft_not_first_try"] += 1
        chosen = [(c, o) for c, p, o in answers if p]
        rejected = [(c, o) for c, p, o in answers if not p]
        for good, good_origin in chosen:
            for bad, bad_origin in rejected:
                if good == bad:
                    continue
                add(
                    "dpo",
                    {**base, "origin": f"{good_origin}>{bad_origin}", "prompt": messages,
                     "chosen": [{"role": "assistant", "content": good}],
                     "rejected": [{"role": "assistant", "content": bad}]},
                    messages, good, bad,
                )  # fmt: skip
        add("grpo", {**base, "prompt": messages, "record": prompt.record}, messages)

    train_tickers, eval_tickers = split_tickers(
        (p.symbol for p in prompts), eval_fraction=eval_fraction
    )
    report.tickers = {"train": sorted(train_tickers), "eval": sorted(eval_tickers)}
    out.mkdir(parents=True, exist_ok=True)
    for method in METHODS:
        split_rows = {
            "train": [r for r in rows[method] if r["symbol"] in train_tickers],
            "eval": [r for r in rows[method] if r["symbol"] in eval_tickers],
        }
        report.rows[method] = {name: len(r) for name, r in split_rows.items()}
        (out / method).mkdir(exist_ok=True)
        for name, split in split_rows.items():
            _write_jsonl(out / method / f"{name}.jsonl", split)
    if teacher is not None:
        report.teacher = {"model": teacher_name, "samples_per_prompt": max(samples, 1)}
    _write_card(out, source=source, report=report, eval_fraction=eval_fraction)
    return report


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """All rows or nothing: written to a temporary name, then renamed."""
    temp = path.with_suffix(".jsonl.tmp")
    with temp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    temp.replace(path)


FILTERS = (
    "prompt, system prompt and allowed figures rebuilt from the record's snapshot and analysis "
    "with today's prompt module; the file's prompt_messages, narrative_input and "
    "allowed_figures are not used (prompt_rebuilt counts records whose file prompt differed)",
    "every answer re-checked with the current number check against the rebuilt allowed figures, "
    "the advice filter and the injection filter (answer_advice, answer_injection)",
    "records whose data carries an instruction to the model are skipped (invalid:injection)",
    "only regular *.json files inside --from, at most 8 folders deep and 2 MB each; links, "
    "devices and FIFOs skipped unread (link, not_regular_file, too_deep, too_large)",
    "SFT: answers that passed on the first try, and teacher answers that pass",
    "DPO: chosen passed, rejected failed, same prompt (regenerate-once path and samples)",
    "GRPO: every prompt with its narrative input and allowed figures",
    "duplicates (same prompt and answers) dropped per dataset",
    "train/eval split by ticker (hash of the symbol); no ticker in both",
)


def _write_card(out: Path, *, source: str, report: BuildReport, eval_fraction: float) -> None:
    card = {
        "source": source,
        "records_read": report.records_read,
        "records_used": report.records_used,
        "skipped": dict(sorted(report.skipped.items())),
        "filtered": dict(sorted(report.filtered.items())),
        "rows": report.rows,
        "eval_fraction": eval_fraction,
        "tickers": report.tickers,
        "teacher": report.teacher,
        "filters": list(FILTERS),
        "formats": {
            "sft": "TRL conversational: messages",
            "dpo": "TRL conversational preference: prompt, chosen, rejected",
            "grpo": "TRL conversational prompt + record (reward kwargs)",
        },
    }
    (out / "card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    lines = [
        "# Dataset card: stock narratives",
        "",
        f"Source: `{source}`. Run records read: {report.records_read}, used: "
        f"{report.records_used}, skipped: {sum(report.skipped.values())}.",
        "",
        "| dataset | train | eval |",
        "|---|---:|---:|",
        *(f"| {m} | {report.rows[m]['train']} | {report.rows[m]['eval']} |" for m in METHODS),
        "",
        f"Train tickers: {', '.join(report.tickers['train']) or '-'}.  ",
        f"Eval tickers: {', '.join(report.tickers['eval']) or '-'}.",
        "",
        "Filters:",
        *(f"- {f}" for f in FILTERS),
        "",
        "Skipped records: "
        + (", ".join(f"{k} {v}" for k, v in sorted(report.skipped.items())) or "none")
        + ".  ",
        "Filtered: "
        + (", ".join(f"{k} {v}" for k, v in sorted(report.filtered.items())) or "none")
        + ".",
        "",
    ]
    (out / "README.md").write_text("\n".join(lines))


def teacher_client(
    *, base_url: str, model: str, api_key: str | None, timeout_s: float = 120.0
) -> ModelClient:
    """An OpenAI-compatible client for the teacher (any ``/v1/chat/completions`` server)."""
    from ..models.openai import OpenAIModelClient

    return OpenAIModelClient(
        base_url=base_url, model=model, api_key=api_key, timeout_s=timeout_s, max_retries=2
    )
