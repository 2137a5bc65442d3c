"""The graph's shape: wiring only in graph.py, nodes at module level, docs drawn from code."""

from __future__ import annotations

import inspect

from langgraph.graph.state import CompiledStateGraph
from stock_agent import graph, nodes

from tests.support.paths import REPO_ROOT

DOC = REPO_ROOT / "docs" / "graph.md"


def test_docs_show_the_graph_drawn_from_the_code() -> None:
    drawing = graph.mermaid()
    assert drawing.strip() in DOC.read_text(encoding="utf-8"), (
        "docs/graph.md is stale: regenerate it with "
        '`.venv/bin/python -c "from stock_agent.graph import mermaid; print(mermaid())"`'
    )


def test_compiled_graph_is_typed_and_keeps_the_articles_three_agents_as_nodes() -> None:
    compiled = graph.build_graph()
    assert isinstance(compiled, CompiledStateGraph)
    drawn = compiled.get_graph()
    assert {
        "data_gathering_agent",
        "performance_analysis_agent",
        "report_generation_agent",
        "understand_request",
        "answer_question",
        "comparison_report",
        "respond",
    } <= set(drawn.nodes)


def test_every_node_is_a_module_level_function_of_nodes_py() -> None:
    compiled = graph.build_graph()
    for name, spec in compiled.builder.nodes.items():
        # Each node runs inside its tracing span; the function under it is the node.
        fn = inspect.unwrap(spec.runnable.func)  # type: ignore[attr-defined]
        assert inspect.getmodule(fn) is nodes, name
        assert getattr(nodes, fn.__name__) is fn, name


def test_decisions_are_conditional_edges_with_named_routes() -> None:
    drawn = graph.build_graph().get_graph()
    conditional = {(e.source, e.target, e.data) for e in drawn.edges if e.conditional}
    assert ("understand_request", "answer_question", "question") in conditional
    assert ("understand_request", "respond", "refused") in conditional
    assert ("report_generation_agent", "comparison_report", "compare") in conditional
    # the model fills the request plan on its own edge, then the same routes follow
    assert ("understand_request", "fill_plan", "unsure") in conditional
    for route, target in (
        ("question", "answer_question"),
        ("analyze_or_compare", "data_gathering_agent"),
        ("refused", "respond"),
    ):
        assert ("fill_plan", target, route) in conditional
    # a question about tickers analysed in this turn is answered after their reports
    assert ("report_generation_agent", "answer_question", "answer") in conditional
    assert ("comparison_report", "answer_question", "answer") in conditional
    assert ("comparison_report", "remember", "done") in conditional
    for stage in ("data_gathering_agent", "performance_analysis_agent", "narrative"):
        assert (stage, "respond", "every_ticker_failed") in conditional
