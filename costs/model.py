"""Hourly cost model of a stage, and the table docs/operations.md quotes.

Why code and not a hand-written table: the numbers follow from the stage
config (instance type, minimum instances, scale-to-zero, alarm and key counts) and a
handful of list prices, so the table is generated from them and a unit
test fails when the docs drift from the config.

Prices are public on-demand list prices, region and date stated in
:data:`PRICES`. Where a price could not be confirmed from AWS's own page it
is marked as an assumption there and in the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

HOURS_PER_MONTH = 730
# Usage pattern of the "typical month" column: a team working 8 h a day, 22 days.
ACTIVE_HOURS_PER_MONTH = 8 * 22


@dataclass(frozen=True, kw_only=True)
class Prices:
    """List prices the model uses (USD), with where each comes from."""

    region: str = "us-east-1"
    as_of: str = "2026-11"
    # SageMaker real-time inference, per instance-hour. ASSUMPTION: AWS's price
    # page could not be read from the build environment; EC2 g6e.4xlarge lists at
    # about $3.00/h and SageMaker hosting adds a premium, the brief quotes
    # $3.0-3.5/h. Verify on https://aws.amazon.com/sagemaker/pricing/.
    instance_per_hour: Mapping[str, float] = field(default_factory=lambda: {"ml.g6e.4xlarge": 3.40})
    # AgentCore Runtime: CPU billed only while active (not while waiting on I/O),
    # memory per GB-hour of session; both per second. Published rates.
    agentcore_vcpu_hour: float = 0.0895
    agentcore_gb_hour: float = 0.00945
    # CloudWatch / KMS / ECR list prices (first tier, free tier ignored).
    dashboard_month: float = 3.00
    alarm_month: float = 0.10
    custom_metric_month: float = 0.30
    kms_key_month: float = 1.00
    ecr_gb_month: float = 0.10
    # The MCP stack (docs/mcp.md). Cognito machine-to-machine: per app client per month,
    # prorated, and per 1,000 client-credentials token requests. AgentCore Gateway: per
    # 1,000 tool calls or listings, per 1,000 semantic searches, and per 100 indexed tools
    # per month. Published list prices (Cognito 2024 M2M pricing; AgentCore 2026).
    cognito_m2m_client_month: float = 6.00
    cognito_m2m_tokens_per_1000: float = 2.25
    gateway_calls_per_1000: float = 0.005
    gateway_searches_per_1000: float = 0.025
    gateway_tool_index_per_100_month: float = 0.02


PRICES = Prices()

# What one busy agent session uses, for the "running" column: the agent mostly
# waits on the model, so about a quarter of one vCPU is busy; 2 GB resident.
SESSION_ACTIVE_VCPU = 0.25
SESSION_MEMORY_GB = 2.0
# Images kept in ECR (vLLM model image about 12 GB, agent image about 0.5 GB).
IMAGE_STORAGE_GB = 12.5
AGENT_CUSTOM_METRICS = 3


@dataclass(frozen=True, kw_only=True)
class StageCost:
    """Cost of one stage in USD: per hour running, per hour idle, and per month."""

    stage: str
    instance_type: str
    scale_to_zero: bool
    running_per_hour: float
    idle_per_hour: float
    fixed_per_hour: float
    typical_month: float
    typical_month_without_scale_to_zero: float

    @property
    def scale_to_zero_saving_per_month(self) -> float:
        """What scale-to-zero saves in the typical month (0 when it is off)."""
        return self.typical_month_without_scale_to_zero - self.typical_month


# The gateway indexes the five tools and its own search tool.
MCP_INDEXED_TOOLS = 6


def mcp_idle_month(*, gateway_auth: str | None, prices: Prices = PRICES) -> float:
    """What the MCP stack costs a month with no call at all (``None``: the stack is off).

    The runtime bills only while a session is active, so idle it is the
    Cognito app client (with ``cognito`` auth) and the gateway's tool index;
    the runtime's log key is counted with the other KMS keys.
    """
    if gateway_auth is None:
        return 0.0
    client = prices.cognito_m2m_client_month if gateway_auth == "cognito" else 0.0
    return client + MCP_INDEXED_TOOLS / 100 * prices.gateway_tool_index_per_100_month


def stage_cost(
    *,
    stage: str,
    instance_type: str,
    min_instance_count: int,
    scale_to_zero: bool,
    alarm_count: int,
    kms_key_count: int,
    mcp_gateway_auth: str | None = None,
    prices: Prices = PRICES,
) -> StageCost:
    """Cost of ``stage``: one instance and one session when running, the floor when idle.

    Raises :class:`KeyError` naming the instance type when no price is known,
    so a new instance type cannot silently cost $0.
    """
    if instance_type not in prices.instance_per_hour:
        raise KeyError(f"no price for instance type {instance_type!r}: add it to Prices")
    instance = prices.instance_per_hour[instance_type]
    fixed = (
        prices.dashboard_month
        + alarm_count * prices.alarm_month
        + AGENT_CUSTOM_METRICS * prices.custom_metric_month
        + kms_key_count * prices.kms_key_month
        + mcp_idle_month(gateway_auth=mcp_gateway_auth, prices=prices)
        + IMAGE_STORAGE_GB * prices.ecr_gb_month
    ) / HOURS_PER_MONTH
    session = SESSION_ACTIVE_VCPU * prices.agentcore_vcpu_hour + (
        SESSION_MEMORY_GB * prices.agentcore_gb_hour
    )
    floor_instances = 0 if scale_to_zero else max(1, min_instance_count)
    running = max(1, floor_instances) * instance + session + fixed
    idle = floor_instances * instance + fixed
    idle_hours = HOURS_PER_MONTH - ACTIVE_HOURS_PER_MONTH
    typical = ACTIVE_HOURS_PER_MONTH * running + idle_hours * idle
    always_on_idle = max(1, min_instance_count) * instance + fixed
    without = ACTIVE_HOURS_PER_MONTH * running + idle_hours * always_on_idle
    return StageCost(
        stage=stage,
        instance_type=instance_type,
        scale_to_zero=scale_to_zero,
        running_per_hour=running,
        idle_per_hour=idle,
        fixed_per_hour=fixed,
        typical_month=typical,
        typical_month_without_scale_to_zero=without,
    )


def render_cost_table(costs: list[StageCost], *, prices: Prices = PRICES) -> str:
    """The Markdown table docs/operations.md embeds between its cost-table markers."""
    lines = [
        f"Prices: {prices.region}, on-demand list, {prices.as_of}; "
        + ", ".join(
            f"{name} ${price:.2f}/h (assumed, see below)"
            for name, price in sorted(prices.instance_per_hour.items())
        )
        + f"; AgentCore ${prices.agentcore_vcpu_hour}/vCPU-h, ${prices.agentcore_gb_hour}/GB-h. "
        + f"Typical month: {ACTIVE_HOURS_PER_MONTH} busy hours of {HOURS_PER_MONTH}.",
        "",
        "| stage | instance | scale-to-zero | running $/h | idle $/h | typical month $ "
        "| same month without scale-to-zero $ | saved by scale-to-zero $/month |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for c in costs:
        lines.append(
            f"| {c.stage} | {c.instance_type} | {'on' if c.scale_to_zero else 'off'} "
            f"| {c.running_per_hour:.2f} | {c.idle_per_hour:.3f} | {c.typical_month:,.0f} "
            f"| {c.typical_month_without_scale_to_zero:,.0f} "
            f"| {c.scale_to_zero_saving_per_month:,.0f} |"
        )
    return "\n".join(lines) + "\n"
