"""``stock-agent chat`` (a terminal conversation kept in SQLite) and ``invoke --download``.

The console script runs in a subprocess, as a user would run it; downloads
come from the real local server's reports; the ``runtimeUserId`` the CLI
sends is checked with botocore's Stubber against the bedrock-agentcore model.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import time
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from stock_agent.client.downloads import DownloadError, save_reports
from stock_agent.client.remote import invoke_runtime

from tests.integration.conftest import STOCK_AGENT, RunningServer

pytestmark = pytest.mark.slow


def _chat(tmp_path: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "REPORTS_DIR": str(tmp_path / "reports"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        [str(STOCK_AGENT), "chat", "--db", str(tmp_path / "sessions.sqlite"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
        cwd=tmp_path,
    )


def test_chat_prints_each_stage_and_remembers_across_runs(tmp_path: Path) -> None:
    first = _chat(tmp_path, "Analyze AAPL\n\nwhat is its beta?\nexit\n", "--session", "chat-t1")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "session chat-t1" in out
    for stage in (
        "understand_request",
        "data_gathering [AAPL]: done",
        "report_generation",
        "remember",
        "answer_question",
    ):
        assert f". {stage}" in out, stage
    assert "ANSWER:" in out and "- Beta: " in out
    assert "Report: file://" in out
    # a new process, the same session: the history came from the SQLite file
    second = _chat(tmp_path, "why is the risk high?\n", "--session", "chat-t1")
    assert second.returncode == 0, second.stderr
    assert "AAPL (Apple Inc.)" in second.stdout and "Risk level" in second.stdout
    # errors are one line and the chat goes on
    third = _chat(tmp_path, "write me a poem\nAnalyze KO\n", "--session", "chat-t2")
    assert "error no_ticker:" in third.stdout and ". data_gathering [KO]: done" in third.stdout


def test_chat_refuses_a_bad_session_id(tmp_path: Path) -> None:
    done = _chat(tmp_path, "", "--session", "has space")
    assert done.returncode == 2 and done.stderr.startswith("stock-agent: --session:")


def test_chat_remembers_its_user_across_sessions_and_not_another(tmp_path: Path) -> None:
    first = _chat(tmp_path, "add NVDA and amd to my watchlist\n", "--user", "alice")
    assert first.returncode == 0, first.stderr
    assert "Added NVDA, AMD to your watchlist" in first.stdout
    # A new process and a new session of the same user: the watchlist is there.
    second = _chat(tmp_path, "what's on my watchlist?\n", "--user", "alice")
    assert "Your watchlist: NVDA, AMD." in second.stdout
    other = _chat(tmp_path, "what's on my watchlist?\n", "--user", "bob")
    assert "Your watchlist is empty" in other.stdout
    bad = _chat(tmp_path, "", "--user", " padded ")
    assert bad.returncode == 2 and bad.stderr.startswith("stock-agent: --user:")


def test_invoke_download_saves_every_pdf_of_a_response(
    agent_server: RunningServer, tmp_path: Path
) -> None:
    target = tmp_path / "pdfs"
    done = subprocess.run(
        [
            str(STOCK_AGENT),
            "invoke",
            "Compare AAPL and KO",
            "--url",
            agent_server.url,
            "--download",
            str(target),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    reports = [r["report"] for r in response["results"]] + [response["comparison"]["report"]]
    assert sorted(p.name for p in target.iterdir()) == sorted(Path(r["key"]).name for r in reports)
    for report in reports:
        data = (target / Path(report["key"]).name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == report["sha256"]


def _save_locally(body: bytes, folder: Path) -> list[str]:
    """The reports of ``body`` as ``invoke --download`` saves those of a loopback server."""
    return save_reports(
        body,
        content_type="application/json",
        folder=folder,
        deadline=time.monotonic() + 30,
        allow_local_files=True,
    )


def test_download_refuses_a_report_it_cannot_verify(tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4 tampered")
    body = json.dumps(
        {
            "results": [
                {
                    "report": {
                        "uri": pdf.as_uri(),
                        "key": "2026/11/30/a.pdf",
                        "bytes": 3,
                        "sha256": "0" * 64,
                    }
                }
            ]
        }
    ).encode()
    with pytest.raises(DownloadError, match="do not match"):
        _save_locally(body, tmp_path / "out")
    s3_only = json.dumps(
        {
            "results": [
                {
                    "report": {
                        "uri": "s3://b/2026/11/30/a.pdf",
                        "key": "2026/11/30/a.pdf",
                        "bytes": 3,
                        "sha256": "0" * 64,
                    }
                }
            ]
        }
    ).encode()
    with pytest.raises(DownloadError, match="no download link"):
        _save_locally(s3_only, tmp_path / "out")
    assert not list((tmp_path / "out").glob("*.pdf"))


def test_invoke_sends_the_runtime_user_id_that_keys_the_actor() -> None:
    client = boto3.client(
        "bedrock-agentcore",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    arn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/gpt_oss_agent_dev-abc123"
    session_id = "stock-agent-cli-" + "0" * 32
    payload = {"prompt": "what is its beta?", "session_id": session_id}
    data = b"{}"
    with Stubber(client) as stub:
        stub.add_response(
            "invoke_agent_runtime",
            {
                "response": StreamingBody(io.BytesIO(data), len(data)),
                "contentType": "application/json",
                "runtimeSessionId": session_id,
                "statusCode": 200,
            },
            {
                "agentRuntimeArn": arn,
                "runtimeSessionId": session_id,
                "payload": json.dumps(payload),
                "qualifier": "DEFAULT",
                "contentType": "application/json",
                "accept": "application/json",
                "runtimeUserId": "alice",
            },
        )
        invoke_runtime(
            client,
            arn=arn,
            payload=payload,
            qualifier="DEFAULT",
            session_id=session_id,
            user_id="alice",
        )
        stub.assert_no_pending_responses()
