"""Run records next to reports: real graph, real PDFs, local folder and a real S3 API.

The model is FakeVLLM on loopback (vLLM serving gpt-oss-20b needs a GPU); it
speaks vLLM's chat-completions JSON and, like ``vllm serve --lora-modules``,
accepts the base model's name and the adapters' served names in ``model``.
S3 is moto's server on loopback, reached by a real boto3 client.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stock_agent.customize.run_records import SCHEMA, hash_actor, parse_run_record
from stock_agent.records import ReportRef
from stock_agent.reports.storage import LocalReportStore, S3ReportStore, StorageError
from stock_agent.settings import AgentSettings

from tests.integration.test_agent_with_model import faithful
from tests.support.agents import agent_on
from tests.support.fake_vllm import FakeVLLM, chat_completion
from tests.support.moto_s3 import moto_s3_server, s3_client

pytestmark = pytest.mark.slow

SESSION = "session-of-a-real-caller-0123456789abcdef"


@pytest.fixture
def fake() -> Iterator[FakeVLLM]:
    with FakeVLLM.start(adapters=("stock-narrator-v1",)) as server:
        yield server


def _ctx(fake: FakeVLLM, tmp_path: Path, **overrides: Any) -> AgentSettings:
    return AgentSettings.from_env(
        {},
        model_provider="openai",
        openai_base_url=fake.url,
        openai_api_key="sk-very-secret-key",
        reports_dir=str(tmp_path / "reports"),
        model_max_retries=0,
        model_timeout_seconds=5.0,
        **overrides,
    )


def _record_of(report: dict[str, Any], root: Path) -> tuple[Path, bytes]:
    pdf = root / report["key"]
    record = pdf.with_suffix(".json")
    return record, record.read_bytes()


def test_regenerated_narrative_keeps_both_answers_and_verdicts(
    fake: FakeVLLM, tmp_path: Path
) -> None:
    fake.enqueue(body=chat_completion("The stock will double to $57.00 by next year."))
    fake.default_response = faithful
    ctx = _ctx(fake, tmp_path, model_adapter="stock-narrator-v1")
    response = agent_on(ctx).invoke("Analyze SIM_STOCK", request_id="rr-1", session_id=SESSION)
    [result] = response["results"]
    path, data = _record_of(result["report"], tmp_path / "reports")
    assert path.with_suffix(".pdf").exists()
    record = parse_run_record(data)

    assert record["schema"] == SCHEMA
    assert record["request"] == {
        "request_id": "rr-1",
        "prompt": "Analyze SIM_STOCK",
        "intent": "analyze",
        "tickers": ["SIM_STOCK"],
        "actor": hash_actor(SESSION),
    }
    # What the model was sent, exactly, and both answers with the check's verdict.
    assert record["prompt_messages"] == fake.chat_requests[0]["messages"]
    first, second = record["answers"]
    assert (first["attempt"], first["passed"]) == (1, False)
    assert "$57.00" in first["reason"]
    assert (second["attempt"], second["passed"], second["reason"]) == (2, True, None)
    assert second["content"] == faithful(fake.chat_requests[1])
    assert second["extra_messages"] == fake.chat_requests[1]["messages"][2:]
    assert record["narrative"]["text"] == result["narrative"]["text"] == second["content"]
    assert record["narrative"]["source"] == "model"
    # The record the narrative was written from: the model's JSON and the allowed figures.
    sent = json.loads(fake.chat_requests[0]["messages"][1]["content"])
    assert record["record"]["narrative_input"] == sent
    assert sent["key_figures"]["Current Price"] in record["record"]["allowed_figures"]
    assert record["record"]["analysis"]["symbol"] == "SIM_STOCK"
    assert "prices" not in record["record"]["snapshot"]
    # The adapter was asked for by its served name, and the record says so.
    assert {r["model"] for r in fake.chat_requests} == {"stock-narrator-v1"}
    assert record["model"]["adapter"] == "stock-narrator-v1"
    assert record["model"]["requested_model"] == "stock-narrator-v1"
    assert record["model"]["base_model"] == "model"
    assert set(record["timings_ms"]) >= {"narrative", "data_gathering", "report_generation"}
    assert record["report"]["sha256"] == result["report"]["sha256"]
    # No secrets and no caller identity in the bytes.
    for secret in ("sk-very-secret-key", SESSION):
        assert secret.encode() not in data


def test_offline_run_records_the_prompt_it_would_have_sent(tmp_path: Path) -> None:
    ctx = AgentSettings.from_env({}, reports_dir=str(tmp_path / "reports"))
    response = agent_on(ctx).invoke("Analyze SIM_STOCK", request_id="rr-2")
    [result] = response["results"]
    record = parse_run_record(_record_of(result["report"], tmp_path / "reports")[1])
    assert record["answers"] == []
    assert [m["role"] for m in record["prompt_messages"]] == ["system", "user"]
    assert record["narrative"]["source"] == "deterministic"
    assert record["request"]["actor"] is None
    assert record["model"]["provider"] == "offline"


def test_run_records_setting_off_writes_only_the_pdf(tmp_path: Path) -> None:
    ctx = AgentSettings.from_env({"RUN_RECORDS": "false"}, reports_dir=str(tmp_path / "reports"))
    response = agent_on(ctx).invoke("Analyze SIM_STOCK", request_id="rr-3")
    files = sorted(p.suffix for p in (tmp_path / "reports").rglob("*") if p.is_file())
    assert files == [".pdf"]
    assert response["results"][0]["report"]["bytes"] > 0


class _RecordsFail(LocalReportStore):
    """A local store whose run-record writes fail like a full disk would."""

    def put(self, *, key: str, data: bytes, metadata: dict[str, str]) -> ReportRef:
        if key.endswith(".json"):
            raise StorageError("report_write_failed", "No space left on device")
        return super().put(key=key, data=data, metadata=metadata)


def test_a_failed_run_record_never_fails_the_report(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = AgentSettings.from_env({}, reports_dir=str(tmp_path / "reports"))
    store = _RecordsFail(root=tmp_path / "reports")
    with caplog.at_level(logging.WARNING, logger="stock_agent.customize.run_records"):
        response = agent_on(ctx, store=store).invoke("Analyze SIM_STOCK", request_id="rr-4")
    assert response["results"][0]["report"]["bytes"] > 0
    assert not list((tmp_path / "reports").rglob("*.json"))
    assert any(r.getMessage() == "run record not stored" for r in caplog.records)


def test_run_record_goes_to_s3_next_to_the_pdf(tmp_path: Path) -> None:
    with moto_s3_server() as endpoint:
        s3 = s3_client(endpoint)
        bucket = f"reports-rr-{os.getpid()}"
        s3.create_bucket(Bucket=bucket)
        ctx = AgentSettings.from_env({}, report_bucket=bucket, aws_region="us-east-1")
        store = S3ReportStore(bucket=bucket, client=s3)
        response = agent_on(ctx, store=store).invoke(
            "Compare AAPL and KO", request_id="rr-5", session_id=SESSION
        )
        for result in response["results"]:
            key = result["report"]["key"].removesuffix(".pdf") + ".json"
            obj = s3.get_object(Bucket=bucket, Key=key)
            assert obj["ContentType"] == "application/json"
            record = parse_run_record(obj["Body"].read())
            assert record["symbol"] == result["symbol"]
            assert record["report"]["key"] == result["report"]["key"]
            assert record["request"]["actor"] == hash_actor(SESSION)
