"""``stock-agent invoke``: against the real server, odd servers, and the boto3 contract.

The console script runs in a subprocess. Its targets are the real agent
server (session fixture ``agent_server``) and tiny loopback HTTP servers that
answer what a broken deployment might (plain text, a 502, JSON without
sections): the public sample's parser crashed on those (defect 8). The AWS
path is checked with botocore's ``Stubber``, which validates every parameter
against the real ``bedrock-agentcore`` and ``cloudformation`` service models
(no network, no credentials).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from stock_agent.client.remote import invoke_runtime, render_invoke_body, runtime_from_stack

from tests.integration.conftest import STOCK_AGENT

pytestmark = pytest.mark.slow

TITLES = ("STOCK DATA GATHERING REPORT", "STOCK PERFORMANCE ANALYSIS", "STOCK REPORT GENERATION")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STOCK_AGENT), *args], capture_output=True, text=True, timeout=60, check=False
    )


@contextlib.contextmanager
def canned_server(status: int, body: bytes, content_type: str) -> Iterator[str]:
    """A loopback server answering every POST with the same canned response."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_invoke_a_local_server_prints_three_sections(agent_server: Any) -> None:
    done = _cli("invoke", "Analyze SIM_STOCK for investment purposes", "--url", agent_server.url)
    assert done.returncode == 0, done.stderr
    positions = [done.stdout.index(title) for title in TITLES]
    assert positions == sorted(positions)
    assert "Stock Symbol: SIM_STOCK" in done.stdout
    assert "(section missing" not in done.stdout


def test_invoke_reports_a_structured_error(agent_server: Any) -> None:
    done = _cli("invoke", "CAN you analyze STOCK", "--url", agent_server.url)
    assert done.returncode == 1
    assert done.stdout.startswith("error no_ticker:")
    assert "Traceback" not in done.stderr


def test_invoke_survives_a_non_json_body() -> None:
    with canned_server(502, b"<html>Bad Gateway</html>", "text/html") as url:
        done = _cli("invoke", "Analyze AAPL", "--url", url)
    assert done.returncode == 1
    assert "not JSON" in done.stdout and "Bad Gateway" in done.stdout
    assert "Traceback" not in done.stderr


def test_invoke_survives_missing_sections() -> None:
    body = json.dumps(
        {"results": [{"symbol": "AAPL", "sections": {"data_gathering": "only this"}}]}
    ).encode()
    with canned_server(200, body, "application/json") as url:
        done = _cli("invoke", "Analyze AAPL", "--url", url)
    assert done.returncode == 0, done.stderr
    assert "only this" in done.stdout
    assert done.stdout.count("(section missing for AAPL)") == 2


def test_invoke_runtime_sends_the_agentcore_contract() -> None:
    """Parameters validated against the bedrock-agentcore service model by the Stubber."""
    client = boto3.client(
        "bedrock-agentcore",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    arn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/gpt_oss_agent_dev-abc123"
    session_id = "stock-agent-cli-" + "0" * 32
    answer = json.dumps({"results": [{"symbol": "KO", "sections": {"data_gathering": "KO"}}]})
    data = answer.encode()
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
                "payload": json.dumps({"prompt": "Analyze KO", "session_id": session_id}),
                "qualifier": "live",
                "contentType": "application/json",
                "accept": "application/json",
            },
        )
        body, content_type = invoke_runtime(
            client,
            arn=arn,
            payload={"prompt": "Analyze KO", "session_id": session_id},
            qualifier="live",
            session_id=session_id,
        )
    text, code = render_invoke_body(body, content_type=content_type)
    assert code == 0 and "KO" in text


def test_runtime_arn_and_endpoint_come_from_the_stack_outputs() -> None:
    client = boto3.client(
        "cloudformation",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    outputs = [
        {"OutputKey": "RuntimeArn", "OutputValue": "arn:aws:bedrock-agentcore:...:runtime/x"},
        {"OutputKey": "RuntimeEndpointName", "OutputValue": "live"},
    ]
    stack = {
        "StackName": "GptOssAgent-dev-Runtime",
        "CreationTime": "2026-01-01T00:00:00Z",
        "StackStatus": "CREATE_COMPLETE",
        "Outputs": outputs,
    }
    with Stubber(client) as stub:
        stub.add_response(
            "describe_stacks", {"Stacks": [stack]}, {"StackName": "GptOssAgent-dev-Runtime"}
        )
        assert runtime_from_stack(client, "GptOssAgent-dev-Runtime") == (
            "arn:aws:bedrock-agentcore:...:runtime/x",
            "live",
        )
