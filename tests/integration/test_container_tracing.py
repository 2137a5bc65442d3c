"""The agent container's CMD runs under the AWS OpenTelemetry distro, and it traces.

AgentCore observability needs the agent's own spans (the runtime only traces
its side). The container starts with ``opentelemetry-instrument``; here the
same launcher runs the real server on loopback with the ADOT distro and
configurator selected, the way AgentCore selects them through ``OTEL_*``
variables, but with the console exporter instead of OTLP so nothing leaves
the machine. The spans printed must show the invocation and the LangGraph run
inside it, in one trace.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.conftest import REPO_ROOT, start_agent_server
from tests.support.dockerfile import parse_dockerfile

DOCKERFILE = REPO_ROOT / "agent_runtime" / "Dockerfile"
OTEL_INSTRUMENT = REPO_ROOT / ".venv" / "bin" / "opentelemetry-instrument"
OTEL_ENV = {
    "OTEL_PYTHON_DISTRO": "aws_distro",
    "OTEL_PYTHON_CONFIGURATOR": "aws_configurator",
    "OTEL_TRACES_EXPORTER": "console",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_SERVICE_NAME": "stock-agent-test",
}


def container_cmd() -> list[str]:
    cmds = [i.args for i in parse_dockerfile(DOCKERFILE.read_text()) if i.keyword == "CMD"]
    assert cmds and cmds[-1].startswith("["), "agent_runtime/Dockerfile has no exec-form CMD"
    return list(json.loads(cmds[-1]))


def printed_spans(text: str) -> list[dict[str, Any]]:
    """The console exporter's spans: JSON objects with a ``context`` among the log lines."""
    decoder = json.JSONDecoder()
    spans: list[dict[str, Any]] = []
    index = 0
    while (start := text.find("{", index)) >= 0:
        try:
            obj, index = decoder.raw_decode(text, start)
        except ValueError:
            index = start + 1
            continue
        if isinstance(obj, dict) and "context" in obj and "name" in obj:
            spans.append(obj)
    return spans


def test_container_cmd_is_the_entrypoint_under_opentelemetry_instrument() -> None:
    assert container_cmd() == [
        "opentelemetry-instrument",
        "python",
        "-m",
        "stock_agent.container",
    ]


def test_instrumented_server_traces_the_invocation_and_the_graph(tmp_path: Path) -> None:
    assert OTEL_INSTRUMENT.exists(), "aws-opentelemetry-distro is not installed by make setup"
    reports = tmp_path / "reports"
    with start_agent_server(
        reports_dir=reports, env=OTEL_ENV, launcher=(str(OTEL_INSTRUMENT),)
    ) as server:
        reply = server.invoke({"prompt": "Analyze SIM_STOCK"})
        assert reply.status == 200, reply.body[:500]
        assert reply.json()["tickers"] == ["SIM_STOCK"]
        assert len([p for p in server.report_files() if p.suffix == ".pdf"]) == 1
        assert server.ping().status == 200
    spans = printed_spans(server.log_text())
    [invocation] = [s for s in spans if s["name"] == "POST /invocations"]
    assert invocation["kind"] == "SpanKind.SERVER"
    assert invocation["status"]["status_code"] != "ERROR"
    graph_runs = [s for s in spans if "LangGraph" in s["name"]]
    assert graph_runs, sorted({s["name"] for s in spans})
    trace_id = invocation["context"]["trace_id"]
    assert all(s["context"]["trace_id"] == trace_id for s in graph_runs)
    assert invocation["resource"]["attributes"]["service.name"] == "stock-agent-test"


NARRATIVE = (
    "The shares trade in a sideways range with positive momentum, and the valuation "
    "looks expensive against strong profitability. This is not investment advice."
)
GRAPH_NODES = (
    "node understand_request",
    "node data_gathering_agent",
    "node performance_analysis_agent",
    "node narrative",
    "node report_generation_agent",
    "node respond",
)


def test_one_invocation_traces_request_nodes_and_model_calls_in_one_trace(
    tmp_path: Path,
) -> None:
    """The request span, a span per graph node and a GenAI span per model call share one
    trace, with the attributes AgentCore's evaluators read (FakeVLLM stands in for the model
    over real HTTP, in vLLM's wire format)."""
    from tests.support.fake_vllm import FakeVLLM

    with FakeVLLM.start(served_model_name="gpt-oss-20b") as fake:
        fake.default_response = NARRATIVE
        env = {
            **OTEL_ENV,
            "MODEL_PROVIDER": "openai",
            "OPENAI_BASE_URL": fake.url,
            "OPENAI_MODEL": "gpt-oss-20b",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
        }
        with start_agent_server(
            reports_dir=tmp_path / "reports", env=env, launcher=(str(OTEL_INSTRUMENT),)
        ) as server:
            reply = server.invoke({"prompt": "Analyze SIM_STOCK"})
            assert reply.status == 200, reply.body[:500]
            result = reply.json()["results"][0]
            assert result["narrative"]["source"] == "model"
        assert len(fake.chat_requests) == 1
    spans = printed_spans(server.log_text())
    [invocation] = [s for s in spans if s["name"] == "POST /invocations"]
    trace_id = invocation["context"]["trace_id"]
    in_trace = [s for s in spans if s["context"]["trace_id"] == trace_id]
    by_name = {s["name"]: s for s in in_trace}

    for name in GRAPH_NODES:
        assert name in by_name, (name, sorted(by_name))
        assert by_name[name]["attributes"]["langgraph.node"] == name.split(" ", 1)[1]
    agent = by_name["invoke_agent stock_agent"]
    assert agent["attributes"]["gen_ai.operation.name"] == "invoke_agent"
    assert agent["attributes"]["traceloop.span.kind"] == "workflow"
    assert by_name["node narrative"]["parent_id"] == agent["context"]["span_id"]

    [chat] = [s for s in in_trace if s["name"] == "chat gpt-oss-20b"]
    assert chat["kind"] == "SpanKind.CLIENT"
    assert chat["parent_id"] == by_name["node narrative"]["context"]["span_id"]
    attributes = chat["attributes"]
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-oss-20b"
    assert attributes["gen_ai.response.model"] == "gpt-oss-20b"  # what the server says it ran
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert attributes["gen_ai.usage.input_tokens"] == 100
    assert attributes["gen_ai.usage.output_tokens"] == len(NARRATIVE.split())
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["stock_agent.model.latency_ms"] > 0
    assert attributes["gen_ai.completion.0.content"] == NARRATIVE
    assert "SIM_STOCK" in attributes["gen_ai.prompt.1.content"]
    assert chat["status"]["status_code"] == "UNSET"
