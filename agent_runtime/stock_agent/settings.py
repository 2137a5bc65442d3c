"""Settings of the agent: one dataclass with defaults and environment fallback.

This is the only module that reads the environment. The LangGraph nodes read
:class:`AgentSettings` from the run's context (:class:`stock_agent.context.RunContext`);
everything else gets the values it needs as arguments.

Environment variables (set by the agent-runtime stack when deployed):

=============================  ==============================================
variable                       meaning
=============================  ==============================================
MODEL_PROVIDER                 ``offline`` (default) | ``openai`` | ``sagemaker``
SAGEMAKER_ENDPOINT_NAME        endpoint for ``sagemaker``
SAGEMAKER_INFERENCE_COMPONENT  inference component for ``sagemaker``
OPENAI_BASE_URL                e.g. ``http://127.0.0.1:8000/v1`` for ``openai``
OPENAI_MODEL                   served model name (default ``model``)
OPENAI_API_KEY                 optional bearer token for ``openai``
AWS_REGION                     region of the endpoint and the bucket
DATA_PROVIDER                  ``simulated`` (default) | ``yfinance``
REPORT_BUCKET                  S3 bucket; when set reports go to S3
REPORTS_DIR                    local folder when no bucket (default ``reports``)
LOG_LEVEL                      ``INFO`` (default)
STAGE                          deployment stage (``dev``/``prod``; default ``local``);
                               outside ``local`` the agent emits EMF metric lines
REQUEST_DEADLINE_SECONDS       overall budget of one request (default 240)
MODEL_TIMEOUT_SECONDS          total time of one model call attempt, body included (default 60)
MODEL_MAX_RETRIES              retries of one model call (default 3)
MODEL_COLD_START_WAIT_SECONDS  wait for a scaled-to-zero endpoint (default 120)
MODEL_MAX_TOKENS               completion budget of one call (default 1024)
REASONING_EFFORT_LOOKUP        gpt-oss reasoning effort of the ticker lookup
                               (``low`` default | ``medium`` | ``high``)
REASONING_EFFORT_NARRATIVE     reasoning effort of narratives, comparisons, answers (``medium``)
MAX_CONCURRENT_REQUESTS        requests the server works on at once (default 32)
MAX_QUEUED_REQUESTS            requests that may wait for a turn (default 64)
MEMORY_BACKEND                 session store: ``memory`` (default) | ``sqlite`` | ``agentcore``
SESSION_DB                     SQLite file for ``sqlite`` (default ``.stock-agent/sessions.sqlite``)
AGENTCORE_MEMORY_ID            AgentCore Memory id for ``agentcore`` (``name-0123456789``:
                               a letter, up to 100 of [A-Za-z0-9_-], ``-``, 10 of [A-Za-z0-9])
MEMORY_MAX_SESSIONS            ``memory``: sessions kept at most; the least recently used
                               goes first (default 500)
MEMORY_SESSION_IDLE_SECONDS    ``memory``: a session unused this long is dropped (default
                               3600); a follow-up in a dropped session is ``no_context``
SESSION_MAX_TURNS              turns a session remembers, oldest out (default 20)
SESSION_MAX_RECORDS            ticker records a session remembers, oldest out (default 10)
USER_WATCHLIST_MAX_TICKERS     tickers a user's watchlist holds at most (default 10); a
                               change past it is refused whole (``watchlist_full``, 422)
USER_MAX_PREFERENCES           preferences a user may state, 1..4 (default 4, all of them);
                               past it: ``too_many_preferences``, 422
MEMORY_MAX_USERS               ``memory``: user profiles kept at most; the least recently
                               used goes first (default 500)
SCHEDULE_MAX_SUBSCRIBERS       opted-in users whose watchlists one scheduled run reads at
                               most (default 100)
REPORT_URL_EXPIRES_SECONDS     presigned report URL lifetime in seconds, 60..3600, or ``off``
                               for no report links (default 3600)
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
                               ``true``: model-call spans carry the messages
                               (online evaluation reads them; default off)
MODEL_ADAPTER                  served name of a LoRA adapter to ask for instead of
                               the base model (the request's ``model`` field)
RUN_RECORDS                    ``true`` (default) | ``false``: store a JSON run
                               record next to every report
RISK_FREE_RATE                 annual risk-free rate of the Sharpe ratio, a fraction
                               (default 0; the report states it)
MARKET_DATA_CACHE_DIR          on-disk cache of yfinance responses (default: the user's
                               cache folder, $XDG_CACHE_HOME or ~/.cache; /tmp/cache
                               in the image); used only while private and the user's own
MARKET_DATA_CACHE_TTL_SECONDS  how long a cached response is used (default 3600)
SERVER_PROTOCOL                what the image serves: ``http`` (default, the agent
                               on 8080) | ``mcp`` (the tools on 8000/mcp)
=============================  ==============================================

gpt-oss counts its reasoning toward ``max_tokens``, so the effort is set per
call: the ticker lookup has a small budget and needs little thought.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

MODEL_PROVIDERS = ("offline", "openai", "sagemaker")
DATA_PROVIDERS = ("simulated", "yfinance")
MEMORY_BACKENDS = ("memory", "sqlite", "agentcore")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REASONING_EFFORTS = ("low", "medium", "high")
SERVER_PROTOCOLS = ("http", "mcp")

# Limits that are part of the contract, not tuning knobs.
MAX_TICKERS_PER_REQUEST = 5
MAX_PROMPT_CHARS = 4096
# The preferences a user can state (memory.user_profile.PREFERENCES has their values).
USER_PREFERENCE_KINDS = 4


class ConfigError(ValueError):
    """A setting has a value the agent cannot run with; the message names it."""


_ENV_NAMES: dict[str, str] = {
    "model_provider": "MODEL_PROVIDER",
    "sagemaker_endpoint_name": "SAGEMAKER_ENDPOINT_NAME",
    "sagemaker_inference_component": "SAGEMAKER_INFERENCE_COMPONENT",
    "openai_base_url": "OPENAI_BASE_URL",
    "openai_model": "OPENAI_MODEL",
    "openai_api_key": "OPENAI_API_KEY",
    "aws_region": "AWS_REGION",
    "data_provider": "DATA_PROVIDER",
    "report_bucket": "REPORT_BUCKET",
    "reports_dir": "REPORTS_DIR",
    "log_level": "LOG_LEVEL",
    "stage": "STAGE",
    "request_deadline_seconds": "REQUEST_DEADLINE_SECONDS",
    "model_timeout_seconds": "MODEL_TIMEOUT_SECONDS",
    "model_max_retries": "MODEL_MAX_RETRIES",
    "model_cold_start_wait_seconds": "MODEL_COLD_START_WAIT_SECONDS",
    "model_max_tokens": "MODEL_MAX_TOKENS",
    "reasoning_effort_lookup": "REASONING_EFFORT_LOOKUP",
    "reasoning_effort_narrative": "REASONING_EFFORT_NARRATIVE",
    "max_concurrent_requests": "MAX_CONCURRENT_REQUESTS",
    "max_queued_requests": "MAX_QUEUED_REQUESTS",
    "memory_backend": "MEMORY_BACKEND",
    "session_db": "SESSION_DB",
    "agentcore_memory_id": "AGENTCORE_MEMORY_ID",
    "session_max_turns": "SESSION_MAX_TURNS",
    "session_max_records": "SESSION_MAX_RECORDS",
    "memory_max_sessions": "MEMORY_MAX_SESSIONS",
    "memory_session_idle_seconds": "MEMORY_SESSION_IDLE_SECONDS",
    "report_url_expires_seconds": "REPORT_URL_EXPIRES_SECONDS",
    "user_watchlist_max_tickers": "USER_WATCHLIST_MAX_TICKERS",
    "user_max_preferences": "USER_MAX_PREFERENCES",
    "memory_max_users": "MEMORY_MAX_USERS",
    "schedule_max_subscribers": "SCHEDULE_MAX_SUBSCRIBERS",
    "trace_model_content": "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    "model_adapter": "MODEL_ADAPTER",
    "run_records": "RUN_RECORDS",
    "risk_free_rate": "RISK_FREE_RATE",
    "market_data_cache_dir": "MARKET_DATA_CACHE_DIR",
    "market_data_cache_ttl_seconds": "MARKET_DATA_CACHE_TTL_SECONDS",
    "server_protocol": "SERVER_PROTOCOL",
}

# The one spelling of a setting that is switched off (REPORT_URL_EXPIRES_SECONDS=off).
OFF = "off"
# A presigned report link lives a minute to an hour (the stacks' config allows the same).
MIN_LINK_SECONDS, MAX_LINK_SECONDS = 60, 3600
_CAN_BE_OFF = frozenset({"report_url_expires_seconds"})
_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("0", "false", "no", "off")
# vLLM's --lora-modules name: the value a request's "model" field carries.
_ADAPTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# AgentCore Memory's memoryId (the data plane's pattern; at least 12 characters).
_MEMORY_ID = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]{0,99}-[a-zA-Z0-9]{10}")


@dataclass(frozen=True, kw_only=True)
class AgentSettings:
    """Every setting the agent reads, with the default used on a laptop."""

    model_provider: str = "offline"
    sagemaker_endpoint_name: str | None = None
    sagemaker_inference_component: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "model"
    openai_api_key: str | None = None
    aws_region: str | None = None
    data_provider: str = "simulated"
    report_bucket: str | None = None
    reports_dir: str = "reports"
    log_level: str = "INFO"
    stage: str = "local"
    request_deadline_seconds: float = 240.0
    model_timeout_seconds: float = 60.0
    model_max_retries: int = 3
    model_cold_start_wait_seconds: float = 120.0
    model_max_tokens: int = 1024
    reasoning_effort_lookup: str = "low"
    reasoning_effort_narrative: str = "medium"
    max_concurrent_requests: int = 32
    max_queued_requests: int = 64
    memory_backend: str = "memory"
    session_db: str = ".stock-agent/sessions.sqlite"
    agentcore_memory_id: str | None = None
    session_max_turns: int = 20
    session_max_records: int = 10
    memory_max_sessions: int = 500
    memory_session_idle_seconds: float = 3600.0
    user_watchlist_max_tickers: int = 10
    user_max_preferences: int = USER_PREFERENCE_KINDS
    memory_max_users: int = 500
    schedule_max_subscribers: int = 100
    # None: no report links (the runtime role may not read reports back).
    report_url_expires_seconds: int | None = 3600
    trace_model_content: bool = False
    model_adapter: str | None = None
    run_records: bool = True
    risk_free_rate: float = 0.0
    market_data_cache_dir: str | None = None
    market_data_cache_ttl_seconds: float = 3600.0
    server_protocol: str = "http"

    def __post_init__(self) -> None:
        self.validate()

    @property
    def emits_metrics(self) -> bool:
        """Deployed stages emit CloudWatch EMF lines; a laptop (``local``) does not."""
        return self.stage != "local"

    @property
    def served_model(self) -> str:
        """The request's ``model`` field: the adapter's served name, else the base model's."""
        return self.model_adapter or self.openai_model

    @property
    def report_store(self) -> str:
        """``s3`` when a bucket is configured, else ``local``."""
        return "s3" if self.report_bucket else "local"

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the setting, its value and what is allowed."""

        def bad(name: str, allowed: str) -> ConfigError:
            return ConfigError(
                f"{_ENV_NAMES[name]}={getattr(self, name)!r} is invalid: expected {allowed}"
            )

        if self.model_provider not in MODEL_PROVIDERS:
            raise bad("model_provider", " | ".join(MODEL_PROVIDERS))
        if self.data_provider not in DATA_PROVIDERS:
            raise bad("data_provider", " | ".join(DATA_PROVIDERS))
        if self.log_level not in LOG_LEVELS:
            raise bad("log_level", " | ".join(LOG_LEVELS))
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,31}", self.stage):
            raise bad("stage", "a lower-case stage name such as dev, prod or local")
        if self.model_provider == "sagemaker":
            for name in ("sagemaker_endpoint_name", "sagemaker_inference_component"):
                if not getattr(self, name):
                    raise bad(name, "a non-empty name when MODEL_PROVIDER=sagemaker")
        if self.model_provider == "openai":
            url = self.openai_base_url or ""
            if not url.startswith(("http://", "https://")):
                raise bad("openai_base_url", "an http(s) URL when MODEL_PROVIDER=openai")
        for name in (
            "request_deadline_seconds",
            "model_timeout_seconds",
            "model_cold_start_wait_seconds",
        ):
            if not 0 < getattr(self, name) <= 3600:
                raise bad(name, "a number of seconds in (0, 3600]")
        if not 0 <= self.model_max_retries <= 10:
            raise bad("model_max_retries", "an integer in [0, 10]")
        if not 16 <= self.model_max_tokens <= 32768:
            raise bad("model_max_tokens", "an integer in [16, 32768]")
        for name in ("reasoning_effort_lookup", "reasoning_effort_narrative"):
            if getattr(self, name) not in REASONING_EFFORTS:
                raise bad(name, " | ".join(REASONING_EFFORTS))
        if not 1 <= self.max_concurrent_requests <= 256:
            raise bad("max_concurrent_requests", "an integer in [1, 256]")
        if not 0 <= self.max_queued_requests <= 4096:
            raise bad("max_queued_requests", "an integer in [0, 4096]")
        if self.memory_backend not in MEMORY_BACKENDS:
            raise bad("memory_backend", " | ".join(MEMORY_BACKENDS))
        if self.memory_backend == "agentcore" and not self.agentcore_memory_id:
            raise bad("agentcore_memory_id", "a memory id when MEMORY_BACKEND=agentcore")
        if not 1 <= self.session_max_turns <= 100:
            raise bad("session_max_turns", "an integer in [1, 100]")
        if not 1 <= self.session_max_records <= 50:
            raise bad("session_max_records", "an integer in [1, 50]")
        if not 1 <= self.memory_max_sessions <= 100_000:
            raise bad("memory_max_sessions", "an integer in [1, 100000]")
        if not 1 <= self.memory_session_idle_seconds <= 7 * 24 * 3600:
            raise bad("memory_session_idle_seconds", "a number of seconds in [1, 604800]")
        if not 1 <= self.user_watchlist_max_tickers <= 50:
            raise bad("user_watchlist_max_tickers", "an integer in [1, 50]")
        if not 1 <= self.user_max_preferences <= USER_PREFERENCE_KINDS:
            raise bad("user_max_preferences", f"an integer in [1, {USER_PREFERENCE_KINDS}]")
        if not 1 <= self.memory_max_users <= 100_000:
            raise bad("memory_max_users", "an integer in [1, 100000]")
        if not 1 <= self.schedule_max_subscribers <= 1000:
            raise bad("schedule_max_subscribers", "an integer in [1, 1000]")
        if self.agentcore_memory_id is not None and not _MEMORY_ID.fullmatch(
            self.agentcore_memory_id
        ):
            raise bad(
                "agentcore_memory_id",
                "an AgentCore Memory id: a letter, up to 100 of [A-Za-z0-9_-], then '-' and "
                "10 of [A-Za-z0-9] (the MemoryId output of the Memory stack)",
            )
        links = self.report_url_expires_seconds
        if links is not None and not (
            isinstance(links, int) and MIN_LINK_SECONDS <= links <= MAX_LINK_SECONDS
        ):
            raise bad(
                "report_url_expires_seconds",
                f"seconds in [{MIN_LINK_SECONDS}, {MAX_LINK_SECONDS}], or {OFF} for no links",
            )
        if self.model_adapter is not None and not _ADAPTER_NAME.fullmatch(self.model_adapter):
            raise bad("model_adapter", "1-64 of [A-Za-z0-9._-], starting with a letter or digit")
        if self.model_adapter is not None and self.model_provider == "offline":
            raise bad("model_adapter", "unset when MODEL_PROVIDER=offline (no model to adapt)")
        if not isinstance(self.run_records, bool):
            raise bad("run_records", "true or false")
        if not -0.05 <= self.risk_free_rate <= 0.25:
            raise bad("risk_free_rate", "an annual rate as a fraction in [-0.05, 0.25]")
        if not 0 <= self.market_data_cache_ttl_seconds <= 7 * 24 * 3600:
            raise bad("market_data_cache_ttl_seconds", "a number of seconds in [0, 604800]")
        if self.server_protocol not in SERVER_PROTOCOLS:
            raise bad("server_protocol", " | ".join(SERVER_PROTOCOLS))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> AgentSettings:
        """Build settings from ``env`` (default ``os.environ``), then ``overrides``.

        Empty variables count as unset. Numbers that do not parse raise
        :class:`ConfigError` naming the variable.
        """
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = source.get(_ENV_NAMES[f.name], "").strip()
            if not raw:
                continue
            default = f.default
            try:
                if f.name in _CAN_BE_OFF and raw.lower() == OFF:
                    values[f.name] = None
                elif isinstance(default, bool):
                    values[f.name] = _parse_bool(_ENV_NAMES[f.name], raw)
                elif isinstance(default, int):
                    values[f.name] = int(raw)
                elif isinstance(default, float):
                    values[f.name] = float(raw)
                elif f.name == "log_level":
                    values[f.name] = raw.upper()
                elif f.name.startswith("reasoning_effort") or f.name == "server_protocol":
                    values[f.name] = raw.lower()
                else:
                    values[f.name] = raw
            except ConfigError:
                raise
            except ValueError:
                expected = f"a number or {OFF}" if f.name in _CAN_BE_OFF else "a number"
                raise ConfigError(
                    f"{_ENV_NAMES[f.name]}={raw!r} is invalid: expected {expected}"
                ) from None
        values.update({k: v for k, v in overrides.items() if v is not None or k in _CAN_BE_OFF})
        return cls(**values)


def _parse_bool(variable: str, raw: str) -> bool:
    """A switch: one of the usual spellings, anything else is a :class:`ConfigError`."""
    word = raw.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    allowed = " | ".join(_TRUE_WORDS + _FALSE_WORDS)
    raise ConfigError(f"{variable}={raw!r} is invalid: expected {allowed}")
