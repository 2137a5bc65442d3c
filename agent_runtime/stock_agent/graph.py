"""The agent's LangGraph: wiring only. Nodes live in :mod:`stock_agent.nodes`.

::

    START → understand_request ─┬─ fill_plan (rules unsure, a model configured) ─┐
                                │        (the model fills the same request plan)  │
                                ├───────────────────────────────────────────────┤
                                ├─ question → answer_question → remember → respond → END
                                ├─ personal (the user's watchlist, preferences) → remember
                                ├─ analyze / compare → data_gathering_agent
                                │    → performance_analysis_agent → narrative
                                │    → report_generation_agent ─┬─ compare → comparison_report
                                │                               │    ─┬─ answer → answer_question
                                │                               │     └─ done → remember
                                │                               ├─ answer → answer_question
                                │                               └─ analyze → remember
                                └─ error (no ticker, no context, ...) → respond

A question about tickers the session does not hold yet ("is Nvidia
oversold?") analyses them first and is answered after the reports.

Every per-ticker stage routes to ``respond`` when no ticker is left (the
error is in the state, not thrown). The drawing in ``docs/graph.md`` is
produced from this code by :func:`mermaid` and a test keeps it current.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START
from langgraph.graph.state import CompiledStateGraph

from . import nodes
from .context import RunContext
from .observability.tracing import TracedStateGraph
from .state import AgentState

AgentGraph = CompiledStateGraph[AgentState, RunContext, AgentState, AgentState]


def build_graph(*, checkpointer: BaseCheckpointSaver[Any] | None = None) -> AgentGraph:
    """Compile the agent's graph; with ``checkpointer`` a thread's session carries over."""
    graph = TracedStateGraph(AgentState, context_schema=RunContext)  # a span per node
    graph.add_node("understand_request", nodes.understand_request)
    graph.add_node("fill_plan", nodes.fill_plan)
    graph.add_node("data_gathering_agent", nodes.data_gathering_agent)
    graph.add_node("performance_analysis_agent", nodes.performance_analysis_agent)
    graph.add_node("narrative", nodes.narrative)
    graph.add_node("report_generation_agent", nodes.report_generation_agent)
    graph.add_node("comparison_report", nodes.comparison_report)
    graph.add_node("answer_question", nodes.answer_question)
    graph.add_node("personal", nodes.personal)
    graph.add_node("remember", nodes.remember)
    graph.add_node("respond", nodes.respond)

    graph.add_edge(START, "understand_request")
    graph.add_conditional_edges(
        "understand_request",
        nodes.route_after_understanding,
        {
            "unsure": "fill_plan",
            "analyze_or_compare": "data_gathering_agent",
            "question": "answer_question",
            "personal": "personal",
            "refused": "respond",
        },
    )
    graph.add_conditional_edges(
        "fill_plan",
        nodes.route_after_plan,
        {
            "analyze_or_compare": "data_gathering_agent",
            "question": "answer_question",
            "personal": "personal",
            "refused": "respond",
        },
    )
    for stage, following in (
        ("data_gathering_agent", "performance_analysis_agent"),
        ("performance_analysis_agent", "narrative"),
        ("narrative", "report_generation_agent"),
    ):
        graph.add_conditional_edges(
            stage,
            nodes.after_ticker_stage,
            {"next": following, "every_ticker_failed": "respond"},
        )
    graph.add_conditional_edges(
        "report_generation_agent",
        nodes.route_after_reports,
        {
            "compare": "comparison_report",
            "answer": "answer_question",
            "analyze": "remember",
            "every_ticker_failed": "respond",
        },
    )
    graph.add_conditional_edges(
        "comparison_report",
        nodes.route_after_comparison,
        {"answer": "answer_question", "done": "remember"},
    )
    graph.add_edge("answer_question", "remember")
    graph.add_conditional_edges(
        "personal", nodes.after_personal, {"done": "remember", "refused": "respond"}
    )
    graph.add_edge("remember", "respond")
    graph.add_edge("respond", END)
    return graph.compile(checkpointer=checkpointer)


def mermaid() -> str:
    """The compiled graph as a mermaid flowchart (what ``docs/graph.md`` shows)."""
    return build_graph().get_graph().draw_mermaid()
