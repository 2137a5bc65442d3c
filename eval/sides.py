"""The two sides of a comparison: what ``--baseline`` and ``--candidate`` may name.

One spelling per kind of target, so a command line reads as what it compares:

===================================  =================================================
``http://HOST:PORT`` / ``https://…``  a running agent server (``stock-agent serve``, the
                                      container)
``arn:aws:bedrock-agentcore:…``       a deployed runtime, at ``--qualifier`` (DEFAULT)
``qualifier:NAME``                    the runtime of ``--runtime-arn`` at endpoint NAME
                                      (``qualifier:live`` vs ``qualifier:canary``)
``model:NAME[@URL]``                  the agent in this process asking the OpenAI-compatible
                                      server at URL (default ``--model-url``) for model NAME
``adapter:NAME[@URL]``                the same agent asking for LoRA adapter NAME
                                      (``MODEL_ADAPTER``) of base ``--model-name``
``offline``                           the agent in this process with the offline model
===================================  =================================================

Anything else is refused with the list above; the values are checked by the
same rules the agent applies to its settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .targets import InProcessTarget, RuntimeArnTarget, Target, UrlTarget

Kind = Literal["url", "runtime", "model", "adapter", "offline"]

FORMS = (
    "http(s)://HOST[:PORT]",
    "arn:aws:bedrock-agentcore:REGION:ACCOUNT:runtime/ID",
    "qualifier:NAME (with --runtime-arn)",
    "model:NAME[@URL]",
    "adapter:NAME[@URL]",
    "offline",
)
# CreateAgentRuntimeEndpoint's name pattern (botocore's service model); DEFAULT fits it.
_QUALIFIER = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,47}")
_RUNTIME_ARN = re.compile(
    r"arn:aws[a-z-]*:bedrock-agentcore:[a-z0-9-]+:[0-9]{12}:runtime/[a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10}"
)
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}")


class SideError(ValueError):
    """A ``--baseline``/``--candidate`` value that names no target we can run."""


@dataclass(frozen=True)
class Side:
    """One parsed side: its kind and the values that build its target."""

    role: str  # "baseline" | "candidate"
    kind: Kind
    url: str | None = None  # server URL, or the model server of model:/adapter:
    arn: str | None = None
    qualifier: str | None = None
    model_name: str | None = None  # the base model's served name
    adapter: str | None = None

    @property
    def offline(self) -> bool:
        """No model behind it: the offline latency budget applies."""
        return self.kind == "offline"

    @property
    def in_process(self) -> bool:
        return self.kind in ("model", "adapter", "offline")


def _http(url: str, *, what: str) -> str:
    if not url.startswith(("http://", "https://")) or len(url) < 10:
        raise SideError(f"{what} {url!r} is not an http(s) URL")
    return url


def parse_side(
    text: str,
    *,
    role: str,
    runtime_arn: str | None = None,
    qualifier: str = "DEFAULT",
    model_url: str | None = None,
    model_name: str = "model",
) -> Side:
    """``text`` as one side of the comparison, or :class:`SideError` naming what is allowed."""
    value = text.strip()
    where = f"--{role} {text!r}"
    if value.startswith(("http://", "https://")):
        return Side(role, "url", url=_http(value, what=where))
    if value.startswith("arn:"):
        if not _RUNTIME_ARN.fullmatch(value):
            raise SideError(f"{where} is not an AgentCore runtime ARN ({FORMS[1]})")
        if not _QUALIFIER.fullmatch(qualifier):
            raise SideError(f"--qualifier {qualifier!r}: expected {_QUALIFIER.pattern}")
        return Side(role, "runtime", arn=value, qualifier=qualifier)
    if value.startswith("qualifier:"):
        name = value.removeprefix("qualifier:")
        if runtime_arn is None:
            raise SideError(f"{where} needs --runtime-arn (the runtime whose endpoint it names)")
        if not _RUNTIME_ARN.fullmatch(runtime_arn):
            raise SideError(f"--runtime-arn {runtime_arn!r} is not an AgentCore runtime ARN")
        if not _QUALIFIER.fullmatch(name):
            raise SideError(f"{where}: endpoint name must match {_QUALIFIER.pattern}")
        return Side(role, "runtime", arn=runtime_arn, qualifier=name)
    if value.startswith(("model:", "adapter:")):
        kind, _, rest = value.partition(":")
        name, at, url = rest.partition("@")
        server = url if at else model_url
        if server is None:
            raise SideError(f"{where} needs a model server: {kind}:{name}@URL or --model-url URL")
        _http(server, what=f"{where}: model server")
        if not _MODEL_NAME.fullmatch(name):
            raise SideError(f"{where}: model name must match {_MODEL_NAME.pattern}")
        if kind == "model":
            return Side(role, "model", url=server, model_name=name)
        return Side(role, "adapter", url=server, model_name=model_name, adapter=name)
    if value == "offline":
        return Side(role, "offline")
    raise SideError(f"{where} names no target; expected one of: {', '.join(FORMS)}")


def build_target(side: Side, *, reports_dir: Path, region: str | None = None) -> Target:
    """The target of one side (in-process sides keep their PDFs in ``reports_dir``).

    ``ValueError`` (bad settings, such as an adapter name the agent refuses) and
    botocore's errors (no region or credentials) reach the caller.
    """
    if side.kind == "url":
        assert side.url is not None
        return UrlTarget(side.url)
    if side.kind == "runtime":
        import boto3
        from stock_agent.client.remote import runtime_client

        assert side.arn is not None and side.qualifier is not None
        region = region or side.arn.split(":")[3]  # the runtime's own region by default
        s3: Any = boto3.client("s3", region_name=region)
        return RuntimeArnTarget(
            arn=side.arn,
            qualifier=side.qualifier,
            client=runtime_client(region=region),
            s3_client=s3,
        )
    reports_dir.mkdir(parents=True, exist_ok=True)
    if side.kind == "offline":
        return InProcessTarget(reports_dir=reports_dir)
    return InProcessTarget(
        reports_dir=reports_dir,
        model_url=side.url,
        model_name=side.model_name or "model",
        model_adapter=side.adapter,
    )
