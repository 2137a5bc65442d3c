"""CPU smoke test: every method two steps on a tiny random gpt-oss, end to end.

``make train-smoke`` (or ``.venv-train/bin/python training/smoke.py``):

1. writes run records in the agent's exact format (real simulated data, the
   real analysis, the real number check): some narratives pass on the first
   try, some only after the regenerate-once path;
2. builds the datasets with ``stock_agent.customize.datasets`` (the CLI's code);
3. trains SFT, DPO, GRPO, DAPO and GSPO for two steps each on the tiny model
   with the methods' own configs (only sizes and step counts overridden), the
   GRPO family rewarded by ``stock_agent.customize.reward``; DAPO and GSPO take both
   steps from one rollout, so the second is off-policy and their clipping acts;
4. checks each run wrote an adapter whose config carries the recipe's targets
   (expert projections included) and that the model container's own adapter
   checks accept (``model_container/lora_support.py``), a metrics file with
   two steps, that the GRPO family logged rewards in [0, 1] and ran the
   objective its config names (and DAPO/GSPO logged clip ratios);
5. builds the gpt-oss-20b-shaped probe adapter (``training/probe_adapter.py``)
   and checks it the same way; prints a table of timings.

Exit status 0 only when every check holds. Proves wiring, not quality.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(_ROOT), str(_ROOT / "agent_runtime")]

from stock_agent import formatting  # noqa: E402
from stock_agent.analysis import analyze  # noqa: E402
from stock_agent.answering.checked_text import TextAttempt  # noqa: E402
from stock_agent.answering.narrative import NarrativeTrace, deterministic_narrative  # noqa: E402
from stock_agent.answering.number_check import allowed_figures, check_narrative  # noqa: E402
from stock_agent.customize.datasets import build_datasets  # noqa: E402
from stock_agent.customize.run_records import build_run_record, encode  # noqa: E402
from stock_agent.market_data import get_provider  # noqa: E402
from stock_agent.prompts import narrative_messages, narrative_payload  # noqa: E402
from stock_agent.records import Narrative, ReportRef  # noqa: E402
from stock_agent.reports.storage import build_report_key, run_record_key  # noqa: E402
from stock_agent.settings import AgentSettings  # noqa: E402

from training import config as training_config  # noqa: E402
from training.tiny import tiny_config  # noqa: E402

logger = logging.getLogger("training.smoke")
SYMBOLS = ("AAPL", "MSFT", "KO", "JPM", "XOM", "SIM_STOCK")
AS_OF = date(2025, 9, 4)
SMOKE_OVERRIDES: dict[str, dict[str, Any]] = {
    "common": {
        "max_steps": 2,
        "num_train_epochs": 1,
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": 1,
        "gradient_checkpointing": False,
        "bf16": False,
        "use_cpu": True,
        "logging_steps": 1,
        "save_steps": 1000,
        "warmup_steps": 0.0,
    },
    # The recipe's max_length (2048): the narrative prompt is about 1,200 words, so a shorter
    # limit makes TRL's DPO drop every pair ("fully truncated") and SFT cut every answer.
    "sft": {},
    "dpo": {},
    "grpo": {"num_generations": 2, "max_completion_length": 8, "generation_batch_size": 2},
    # two prompts x two answers per rollout, two optimizer steps on it (the second off-policy).
    # A random model never ends an answer within 8 tokens: with DAPO's overlong filtering on,
    # every token would leave the loss and the steps would train nothing.
    "dapo": {
        "num_generations": 2,
        "max_completion_length": 8,
        "steps_per_generation": 2,
        "mask_truncated_completions": False,
    },
    "gspo": {"num_generations": 2, "max_completion_length": 8, "steps_per_generation": 2},
}


def _attempt(n: int, messages: list[dict[str, str]], text: str, allowed: frozenset[str]) -> Any:
    reason = check_narrative(text, allowed=allowed)
    return TextAttempt(
        attempt=n, messages=tuple(messages), answer=text, passed=reason is None, reason=reason,
        finish_reason="stop", reasoning_chars=0, prompt_tokens=0, completion_tokens=0,
        latency_ms=0.0, served_model="model",
    )  # fmt: skip


def make_run_record(symbol: str, *, answers: Sequence[str], index: int = 0) -> dict[str, Any]:
    """A run record in the agent's format; ``answers`` are ``good`` or ``invented`` per attempt.

    A ``good`` answer is the deterministic narrative (passes the number
    check by construction); an ``invented`` one adds a price target the
    record does not hold. A retry's messages carry the rejection, as the
    agent's regenerate-once path does.
    """
    snapshot = get_provider("simulated").snapshot(symbol, as_of=AS_OF)
    analysis = analyze(snapshot)
    rows = formatting.key_figures(snapshot, analysis)
    payload = narrative_payload(snapshot=snapshot, analysis=analysis, key_figures=rows)
    allowed = allowed_figures(snapshot=snapshot, analysis=analysis, payload=payload)
    good = deterministic_narrative(snapshot=snapshot, analysis=analysis, key_figures=rows)
    texts = {"good": good, "invented": good + " Analysts see the shares at $9,876.54 next year."}
    attempts: list[Any] = []
    previous: str | None = None
    for n, kind in enumerate(answers, start=1):
        rejection = attempts[-1].reason if attempts else None
        messages = narrative_messages(payload, rejection=rejection, previous=previous)
        attempts.append(_attempt(n, messages, texts[kind], allowed))
        previous = texts[kind]
    passed = [a for a in attempts if a.passed]
    final = passed[-1].answer if passed else good
    generated = datetime(2025, 9, 4, 12, 0, index % 60, tzinfo=UTC)
    key = build_report_key(symbol=symbol, generated_at=generated, unique_suffix=f"run{index:05d}")
    return build_run_record(
        request_id=f"smoke-{index}", prompt=f"Analyze {symbol}", intent="analyze",
        tickers=[symbol], session_id=None, snapshot=snapshot, analysis=analysis,
        narrative=Narrative(text=final, source="model" if passed else "deterministic",
                            model_calls=len(attempts)),
        trace=NarrativeTrace(payload=payload, allowed=allowed, attempts=tuple(attempts)),
        report=ReportRef(uri="file:///dev/null", key=key, bytes=0,
                         sha256=hashlib.sha256(b"").hexdigest()),
        ctx=AgentSettings(), timings_ms={}, created_at=generated,
    )  # fmt: skip


def write_record(root: Path, record: dict[str, Any]) -> Path:
    """Store ``record`` where the agent would: next to its report's key."""
    target = root / run_record_key(record["report"]["key"])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(encode(record))
    return target


def write_run_records(root: Path) -> int:
    """Run records for :data:`SYMBOLS` (every second one took the retry path) and one broken."""
    for i, symbol in enumerate(SYMBOLS):
        answers = ("invented", "good") if i % 2 else ("good",)
        write_record(root, make_run_record(symbol, answers=answers, index=i))
    (root / "2025" / "09" / "04" / "broken_run_record.json").write_text("{not json")
    return len(SYMBOLS)


def check_run(
    method: str, out: Path, metrics: dict[str, Any], *, trainer_settings: dict[str, Any]
) -> list[str]:
    """What is wrong with one run's outputs (empty when all is well).

    ``trainer_settings``: the config's trainer section with the smoke overrides.
    """
    problems = []
    adapter = out / "adapter"
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        if not (adapter / name).is_file():
            problems.append(f"{method}: {name} missing")
    if (adapter / "adapter_config.json").is_file():
        adapter_config = json.loads((adapter / "adapter_config.json").read_text())
        expected = set(training_config.load(method)["lora"]["target_parameters"])
        if set(adapter_config.get("target_parameters") or []) != expected:
            found = adapter_config.get("target_parameters")
            problems.append(f"{method}: adapter target_parameters {found}, expected {expected}")
        rules = training_config.lora_support()
        dims = rules.dims_from_config(tiny_config(vocab_size=8).to_dict())
        problems += [
            f"{method}: not servable: {p}" for p in rules.check_adapter_dir(adapter, dims=dims)
        ]
    if metrics.get("global_step") != 2:
        problems.append(f"{method}: {metrics.get('global_step')} steps, expected 2")
    if not (out / "metrics.json").is_file():
        problems.append(f"{method}: metrics.json missing")
    if method in training_config.GRPO_FAMILY:
        rewards = [h["reward"] for h in metrics["log_history"] if "reward" in h]
        if not rewards or not all(0.0 <= r <= 1.0 for r in rewards):
            problems.append(f"{method}: rewards {rewards} not logged within [0, 1]")
        ran = metrics.get("objective", {})
        for key, value in trainer_settings.items():
            if key in ran and ran[key] != value:
                problems.append(f"{method}: trained with {key}={ran[key]!r}, config says {value!r}")
        if method != "grpo" and not any(
            "clip_ratio/region_mean" in h for h in metrics["log_history"]
        ):
            problems.append(f"{method}: no clip ratios logged (the clipped objective did not run)")
    return problems


def check_probe_adapter(folder: Path) -> list[str]:
    """The gpt-oss-20b-shaped probe adapter, checked as the model container will."""
    from training.probe_adapter import build

    rules = training_config.lora_support()
    build(folder)
    return [f"probe adapter: {p}" for p in rules.check_adapter_dir(folder, dims=rules.GPT_OSS_20B)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="training/smoke.py")
    parser.add_argument("--workdir", type=Path, help="keep outputs here (default: a temp folder)")
    parser.add_argument("--report", type=Path, help="write the timings table as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from training.trainers import train

    with tempfile.TemporaryDirectory() as temp:
        work = args.workdir or Path(temp)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        written = write_run_records(work / "reports")
        report = build_datasets(str(work / "reports"), work / "data", eval_fraction=0.34)
        timings["dataset_build_s"] = round(time.perf_counter() - started, 2)
        problems = []
        if report.skipped.get("invalid:not JSON") != 1:
            problems.append(f"dataset: broken record not counted as skipped ({report.skipped})")
        if set(report.tickers["train"]) & set(report.tickers["eval"]):
            problems.append("dataset: a ticker is in both splits")
        results = {}
        for method in training_config.METHODS:
            config = training_config.load(method)
            overrides = {**SMOKE_OVERRIDES["common"], **SMOKE_OVERRIDES[method]}
            out = work / "runs" / method
            began = time.perf_counter()
            metrics = train(
                method, config, data_dir=work / "data", output_dir=out, tiny=True,
                overrides=overrides,
            )  # fmt: skip
            timings[f"{method}_s"] = round(time.perf_counter() - began, 2)
            problems += check_run(
                method, out, metrics, trainer_settings={**config["trainer"], **overrides}
            )
            results[method] = {k: metrics[k] for k in ("global_step", "train_loss", "train_rows")}
            if "objective" in metrics:
                results[method]["objective"] = metrics["objective"]
        began = time.perf_counter()
        problems += check_probe_adapter(work / "probe-adapter")
        timings["probe_adapter_s"] = round(time.perf_counter() - began, 2)
        timings["total_s"] = round(time.perf_counter() - started, 2)
    summary = {"run_records": written, "rows": report.rows, "results": results,
               "timings": timings, "problems": problems}  # fmt: skip
    print(f"{'step':<18}{'seconds':>10}")
    for name, seconds in timings.items():
        print(f"{name:<18}{seconds:>10.2f}")
    print(json.dumps(summary, indent=2, default=str))
    if args.report:
        args.report.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    for problem in problems:
        print(f"SMOKE FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
