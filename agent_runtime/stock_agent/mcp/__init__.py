"""The analyst's tools as Model Context Protocol tools, for agents and IDEs that are not ours.

Five tools over the same records, validators and formatting as the LangGraph
agent: ``gather_stock_data``, ``analyze_stock_performance``,
``generate_stock_report``, ``compare_stocks`` and ``get_figure``
(:mod:`stock_agent.mcp.toolbox`). They are served over stdio for desktop
assistants (``stock-agent mcp``), over stateless streamable HTTP on loopback
(``stock-agent mcp --http``) and, in the container, on ``0.0.0.0:8000/mcp``
for an AgentCore Runtime with the MCP protocol behind an AgentCore Gateway
(:mod:`stock_agent.mcp.entrypoint`). docs/mcp.md has the whole picture.
"""
