"""Datasets from run records: formats, filters, dedup, ticker split, card, bad records.

Run records are built with the agent's own code (simulated data, the real
analysis, the real number check) by ``training.smoke.make_run_record``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from stock_agent.customize.datasets import DatasetError, build_datasets, split_tickers
from stock_agent.customize.run_records import MAX_RECORD_BYTES

from training.smoke import make_run_record, write_record


def _rows(out: Path, method: str, split: str) -> list[dict[str, Any]]:
    path = out / method / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _all(out: Path, method: str) -> list[dict[str, Any]]:
    return _rows(out, method, "train") + _rows(out, method, "eval")


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    root = tmp_path / "reports"
    write_record(root, make_run_record("AAPL", answers=("good",), index=1))
    write_record(root, make_run_record("MSFT", answers=("invented", "good"), index=2))
    write_record(root, make_run_record("KO", answers=("invented", "invented"), index=3))
    write_record(root, make_run_record("JPM", answers=(), index=4))  # offline: prompt only
    return root


def test_sft_keeps_first_try_passes_only(reports: Path, tmp_path: Path) -> None:
    report = build_datasets(str(reports), tmp_path / "out", eval_fraction=0.0)
    rows = _all(tmp_path / "out", "sft")
    assert [r["symbol"] for r in rows] == ["AAPL"]
    [row] = rows
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert "$9,876.54" not in row["messages"][-1]["content"]
    assert report.filtered["sft_not_first_try"] == 1  # MSFT's second answer passed
    assert report.filtered["sft_failed_check"] == 3  # MSFT once, KO twice


def test_dpo_pairs_the_retry_path_chosen_passed_rejected_failed(
    reports: Path, tmp_path: Path
) -> None:
    build_datasets(str(reports), tmp_path / "out", eval_fraction=0.0)
    [pair] = _all(tmp_path / "out", "dpo")
    assert pair["symbol"] == "MSFT" and pair["origin"] == "run:2>run:1"
    assert "$9,876.54" in pair["rejected"][0]["content"]
    assert "$9,876.54" not in pair["chosen"][0]["content"]
    # The prompt is the first attempt's (no rejection message in it).
    assert [m["role"] for m in pair["prompt"]] == ["system", "user"]


def test_grpo_has_every_prompt_with_its_record(reports: Path, tmp_path: Path) -> None:
    build_datasets(str(reports), tmp_path / "out", eval_fraction=0.0)
    rows = _all(tmp_path / "out", "grpo")
    assert sorted(r["symbol"] for r in rows) == ["AAPL", "JPM", "KO", "MSFT"]
    for row in rows:
        assert set(row["record"]) == {"narrative_input", "allowed_figures"}
        assert row["record"]["narrative_input"]["symbol"] == row["symbol"]
        assert json.loads(row["prompt"][1]["content"]) == row["record"]["narrative_input"]


def test_duplicates_are_dropped_and_counted(reports: Path, tmp_path: Path) -> None:
    again = make_run_record("AAPL", answers=("good",), index=9)  # same prompt, same answer
    write_record(reports, again)
    report = build_datasets(str(reports), tmp_path / "out", eval_fraction=0.0)
    assert len(_all(tmp_path / "out", "sft")) == 1
    assert report.filtered["sft_duplicate"] == 1 and report.filtered["grpo_duplicate"] == 1


def test_bad_and_partial_records_are_skipped_with_counts(reports: Path, tmp_path: Path) -> None:
    folder = reports / "2025" / "09" / "04"
    (folder / "a.json").write_text("{not json")
    (folder / "b.json").write_text(json.dumps({"schema": "other"}))
    partial = make_run_record("XOM", answers=("good",), index=5)
    del partial["record"]["allowed_figures"]
    (folder / "c.json").write_text(json.dumps(partial))
    answers_bad = make_run_record("XOM", answers=("good",), index=6)
    answers_bad["answers"][0]["content"] = None
    (folder / "d.json").write_text(json.dumps(answers_bad))
    (folder / "e.json").write_bytes(b"x" * (MAX_RECORD_BYTES + 1))
    (folder / "f.json").write_bytes(b"\xff\xfe\x00")
    report = build_datasets(str(reports), tmp_path / "out", eval_fraction=0.0)
    assert report.records_read == 10 and report.records_used == 4
    assert report.skipped == {
        "invalid:not JSON": 2,
        "invalid:schema 'other'": 1,
        "invalid:record.allowed_figures": 1,
        "invalid:answers[0]": 1,
        "too_large": 1,
    }
    card = json.loads((tmp_path / "out" / "card.json").read_text())
    assert card["skipped"] == dict(sorted(report.skipped.items()))


def test_split_by_ticker_never_leaks_and_card_says_so(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    symbols = ("AAPL", "MSFT", "KO", "JPM", "XOM", "SIM_STOCK")
    for i, symbol in enumerate(symbols):
        write_record(root, make_run_record(symbol, answers=("good",), index=10 + i))
        write_record(root, make_run_record(symbol, answers=("invented", "good"), index=20 + i))
    report = build_datasets(str(root), tmp_path / "out", eval_fraction=0.34)
    train, held_out = set(report.tickers["train"]), set(report.tickers["eval"])
    assert train | held_out == set(symbols) and not train & held_out
    assert len(held_out) == 3  # ceil(0.34 * 6)
    for method in ("sft", "dpo", "grpo"):
        assert {r["symbol"] for r in _rows(tmp_path / "out", method, "train")} <= train
        assert {r["symbol"] for r in _rows(tmp_path / "out", method, "eval")} <= held_out
    card = json.loads((tmp_path / "out" / "card.json").read_text())
    assert card["rows"]["grpo"] == {"train": 3, "eval": 3}
    assert card["rows"]["dpo"] == {"train": 3, "eval": 3}
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "| grpo | 3 | 3 |" in readme and "no ticker in both" in readme


@pytest.mark.parametrize(
    ("fraction", "n", "held_out"),
    [(0.0, 5, 0), (0.2, 5, 1), (0.21, 5, 2), (0.5, 1, 0), (0.99, 3, 2)],
)
def test_split_sizes_at_the_edges(fraction: float, n: int, held_out: int) -> None:
    symbols = [f"T{i}" for i in range(n)]
    train, evaluation = split_tickers(symbols, eval_fraction=fraction)
    assert len(evaluation) == held_out and len(train) == n - held_out


@pytest.mark.parametrize("fraction", [-0.01, 1.0])
def test_eval_fraction_outside_range_is_refused(fraction: float) -> None:
    with pytest.raises(DatasetError, match="--eval-fraction"):
        split_tickers(["A", "B"], eval_fraction=fraction)


def test_missing_source_and_samples_without_teacher_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not a folder"):
        build_datasets(str(tmp_path / "nope"), tmp_path / "out")
    with pytest.raises(DatasetError, match="--samples needs --teacher-url"):
        build_datasets(str(tmp_path), tmp_path / "out", samples=2)
    with pytest.raises(DatasetError, match=r"--samples 9: expected an integer in \[0, 8\]"):
        build_datasets(str(tmp_path), tmp_path / "out", samples=9)
