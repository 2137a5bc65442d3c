"""The dataset build at its limits: a record of exactly the size cap, records without a
prompt, an output folder that does not exist yet, and a teacher that answers, fails or
advises (a scripted model client stands in for the teacher's OpenAI-compatible server;
the wire itself is tested in ``tests/integration/test_dataset_build.py``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stock_agent.customize.datasets import (
    SAMPLE_MAX_TOKENS,
    SAMPLE_TEMPERATURE,
    build_datasets,
)
from stock_agent.customize.run_records import MAX_RECORD_BYTES, encode
from stock_agent.models.types import CallProfile, ChatResult, ModelError

from training.smoke import make_run_record, write_record


class ScriptedTeacher:
    """Answers from a script (a string, or an exception to raise), recording each call."""

    name = "teacher"

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.calls: list[dict[str, Any]] = []

    def chat(self, profile: CallProfile, turns: Sequence[Any]) -> ChatResult:
        self.calls.append({"turns": list(turns), "max_tokens": profile.max_tokens,
                           "temperature": profile.temperature,
                           "system_prompt": profile.system_prompt})  # fmt: skip
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return ChatResult(content=answer)


def _sft(out: Path) -> list[dict[str, Any]]:
    rows = []
    for split in ("train", "eval"):
        text = (out / "sft" / f"{split}.jsonl").read_text()
        rows += [json.loads(line) for line in text.splitlines() if line]
    return rows


def test_teacher_answers_are_asked_for_with_the_sampling_settings_and_judged(
    tmp_path: Path,
) -> None:
    root = tmp_path / "reports"
    record = make_run_record("AAPL", answers=(), index=1)  # a prompt the model never answered
    write_record(root, record)
    good = make_run_record("AAPL", answers=("good",), index=2)["answers"][0]["content"]
    teacher = ScriptedTeacher(
        [good, ModelError("model_throttled", "slow down"), "You should buy the shares. " + good]
    )
    report = build_datasets(
        str(root), tmp_path / "out", eval_fraction=0.0, teacher=teacher, teacher_name="t",
        samples=3,
    )  # fmt: skip
    assert [(c["max_tokens"], c["temperature"]) for c in teacher.calls] == [
        (SAMPLE_MAX_TOKENS, SAMPLE_TEMPERATURE)
    ] * 3
    assert (SAMPLE_MAX_TOKENS, SAMPLE_TEMPERATURE) == (1024, 0.8)
    # The turns carry the rebuilt system prompt themselves.
    assert all(c["system_prompt"] is None for c in teacher.calls)
    assert teacher.calls[0]["turns"][0]["role"] == "system"
    assert [r["origin"] for r in _sft(tmp_path / "out")] == ["teacher:1"]
    assert report.filtered["teacher_error:model_throttled"] == 1
    assert report.filtered["answer_advice"] == 1
    assert report.teacher == {"model": "t", "samples_per_prompt": 3}


def test_a_record_of_exactly_the_size_cap_is_read_one_byte_more_is_not(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    path = write_record(root, make_run_record("AAPL", answers=("good",), index=1))
    data = path.read_bytes()
    # Leading spaces: JSON allows them, and a read one byte short would cut the closing brace.
    path.write_bytes(b" " * (MAX_RECORD_BYTES - len(data)) + data)
    assert path.stat().st_size == MAX_RECORD_BYTES
    report = build_datasets(str(root), tmp_path / "out", eval_fraction=0.0)
    assert report.records_used == 1 and report.skipped == {}
    path.write_bytes(b" " * (MAX_RECORD_BYTES - len(data) + 1) + data)
    report = build_datasets(str(root), tmp_path / "out2", eval_fraction=0.0)
    assert report.records_used == 0 and report.skipped == {"too_large": 1}


def test_a_record_without_a_prompt_is_counted_once(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    record = make_run_record("AAPL", answers=(), index=1)
    record["prompt_messages"] = []
    path = write_record(root, record)
    path.write_bytes(encode(record))
    report = build_datasets(str(root), tmp_path / "out", eval_fraction=0.0)
    assert report.skipped == {"no_prompt": 1} and report.records_used == 0


def test_the_output_folder_is_created_with_its_parents(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    write_record(root, make_run_record("AAPL", answers=("good",), index=1))
    out = tmp_path / "not" / "yet" / "there"
    build_datasets(str(root), out, eval_fraction=0.0)
    assert (out / "card.json").is_file() and len(_sft(out)) == 1
