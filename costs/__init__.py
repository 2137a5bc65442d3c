"""The cost model of a stage (used by the docs' cost table and its test; no stack uses it)."""

from .model import PRICES, Prices, StageCost, mcp_idle_month, render_cost_table, stage_cost

__all__ = ["PRICES", "Prices", "StageCost", "mcp_idle_month", "render_cost_table", "stage_cost"]
