"""``stock-agent dataset build`` against real parts: moto's S3 server, FakeVLLM as teacher.

The teacher stands in for a stronger model behind any OpenAI-compatible URL
(FakeVLLM speaks vLLM's chat-completions JSON over a real socket). S3 is
moto's server on loopback, read by a real boto3 client.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import pytest
from stock_agent import cli
from stock_agent.customize.datasets import build_datasets, teacher_client
from stock_agent.customize.run_records import encode
from stock_agent.reports.storage import run_record_key

from tests.support.fake_vllm import FakeVLLM
from tests.support.moto_s3 import moto_s3_server, s3_client
from training.smoke import make_run_record, write_record

pytestmark = pytest.mark.slow


@pytest.fixture
def fake() -> Iterator[FakeVLLM]:
    with FakeVLLM.start(served_model_name="teacher") as server:
        yield server


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def test_builds_from_s3_skipping_non_records(tmp_path: Path) -> None:
    with moto_s3_server() as endpoint:
        s3 = s3_client(endpoint)
        bucket = f"reports-ds-{os.getpid()}"
        s3.create_bucket(Bucket=bucket)
        for i, (symbol, answers) in enumerate(
            [("AAPL", ("good",)), ("MSFT", ("invented", "good")), ("KO", ("good",))]
        ):
            record = make_run_record(symbol, answers=answers, index=i)
            key = "reports/" + run_record_key(record["report"]["key"])
            s3.put_object(Bucket=bucket, Key=key, Body=encode(record))
            s3.put_object(Bucket=bucket, Key=key[:-5] + ".pdf", Body=b"%PDF-1.4")
        s3.put_object(Bucket=bucket, Key="reports/2025/09/04/bad.json", Body=b"[1, 2]")
        s3.put_object(Bucket=bucket, Key="elsewhere/x.json", Body=b"{}")  # outside the prefix
        report = build_datasets(
            f"s3://{bucket}/reports/", tmp_path / "out", eval_fraction=0.0, s3_client=s3
        )
    assert report.records_read == 4 and report.records_used == 3
    assert report.skipped == {"invalid:expected a JSON object": 1}
    assert report.rows["sft"]["train"] == 2 and report.rows["dpo"]["train"] == 1


def test_teacher_answers_kept_only_when_they_pass(tmp_path: Path, fake: FakeVLLM) -> None:
    root = tmp_path / "reports"
    write_record(root, make_run_record("AAPL", answers=(), index=1))  # offline run: prompt only

    calls = {"n": 0}

    def teacher(request: dict[str, Any]) -> str:
        calls["n"] += 1
        payload = json.loads(request["messages"][1]["content"])
        price = payload["key_figures"]["Current Price"]
        if calls["n"] % 2:
            return f"The stock trades at {price}."
        return f"The stock trades at {price} and will reach $5,555.55."

    fake.default_response = teacher
    client = teacher_client(base_url=fake.url, model="teacher", api_key=None, timeout_s=5)
    report = build_datasets(
        str(root), tmp_path / "out", eval_fraction=0.0, teacher=client,
        teacher_name="teacher", samples=4,
    )  # fmt: skip
    assert len(fake.chat_requests) == 4
    assert all(r["temperature"] == pytest.approx(0.8) for r in fake.chat_requests)
    sft = _jsonl(tmp_path / "out" / "sft" / "train.jsonl")
    assert {r["origin"] for r in sft} == {"teacher:1"}  # 2 passing answers, identical: deduped
    assert report.filtered["sft_duplicate"] == 1
    assert all("$5,555.55" not in r["messages"][-1]["content"] for r in sft)
    dpo = _jsonl(tmp_path / "out" / "dpo" / "train.jsonl")
    assert len(dpo) == 1 and "$5,555.55" in dpo[0]["rejected"][0]["content"]
    card = json.loads((tmp_path / "out" / "card.json").read_text())
    assert card["teacher"] == {"model": "teacher", "samples_per_prompt": 4}


def test_cli_dataset_build_prints_counts_and_rejects_bad_options(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    write_record(root, make_run_record("AAPL", answers=("good",), index=1))
    out = io.StringIO()
    code = cli.main(
        ["dataset", "build", "--from", str(root), "--out", str(tmp_path / "d")], out=out
    )
    assert code == 0
    assert "read 1 run records, used 1, skipped 0" in out.getvalue()
    assert (tmp_path / "d" / "README.md").is_file()
    err = io.StringIO()
    with redirect_stderr(err):
        bad = cli.main(
            ["dataset", "build", "--from", str(tmp_path / "nope"), "--out", str(tmp_path / "e")],
            out=io.StringIO(),
        )
        teacherless = cli.main(
            ["dataset", "build", "--from", str(root), "--out", str(tmp_path / "e"),
             "--teacher-url", "ftp://x"],
            out=io.StringIO(),
        )  # fmt: skip
    assert bad == 2 and teacherless == 2
    assert "not a folder" in err.getvalue() and "expected an http(s) URL" in err.getvalue()
