"""Entrypoint of the model container: turn the environment into one ``vllm serve`` command.

SageMaker starts the container as ``docker run <image> serve`` and expects an
HTTP server on port 8080 answering ``GET /ping`` and ``POST /invocations``;
vLLM's OpenAI server has both. This script builds the command from gpt-oss
defaults overlaid by environment variables, checks every value first, and
``exec``s vLLM (so vLLM is PID 1 and gets SageMaker's SIGTERM directly).

Configuration, lowest precedence first:

1. gpt-oss defaults (:data:`DEFAULTS`): served name ``model``, the ``openai``
   tool-call parser with auto tool choice, the ``openai_gptoss`` reasoning
   parser, max model length, GPU memory utilisation, tensor parallel 1,
   prefix caching on (the agent resends the same system prompt every call);
2. ``SM_VLLM_<ARG>`` (vLLM's SageMaker convention) and ``OPTION_<ARG>`` (the
   article's names): ``<ARG>`` lower-cased with ``_`` → ``-`` is the vLLM flag,
   e.g. ``SM_VLLM_MAX_NUM_SEQS=64`` → ``--max-num-seqs 64``. Setting the same
   argument differently under both prefixes is an error.

Booleans become bare flags: ``true`` → ``--flag``, ``false`` → ``--no-flag``
where vLLM accepts it (its boolean engine arguments are argparse
``BooleanOptionalAction``), otherwise the flag is left out. ``--flag true``
is never produced (vLLM 0.10.1 swallowed the stray ``true``; a second one
fails the parse). Any invalid value stops the container at once with one log
line naming the variable, exit status 2.

A model path (``OPTION_MODEL=/opt/ml/model``, where SageMaker puts the
weights from the model's S3 data source) runs vLLM with ``HF_HUB_OFFLINE=1``:
nothing is fetched from a hub at start-up, so the container works with
network isolation. ``TIKTOKEN_ENCODINGS_BASE`` (set in the Dockerfile to the
baked-in harmony vocabulary) is passed through.

``python3 serve.py [serve] --dry-run`` prints the command instead of running it.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

logger = logging.getLogger("model_container.serve")

HOST = "0.0.0.0"  # noqa: S104 (the container must listen on all interfaces)
PORT = 8080  # SageMaker sends /ping and /invocations to 8080
PREFIXES = ("SM_VLLM_", "OPTION_")
DEFAULT_MODEL = "openai/gpt-oss-20b"
TIKTOKEN_FILES = ("o200k_base.tiktoken", "cl100k_base.tiktoken")
TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off"})


class ConfigError(ValueError):
    """A variable has a value the container cannot start with; the message names it."""


@dataclass(frozen=True)
class Arg:
    """A vLLM argument the entrypoint knows and validates."""

    kind: str  # "str" | "int" | "float" | "bool"
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    negatable: bool = True  # bool: vLLM accepts --no-<flag>

    def describe(self) -> str:
        if self.kind == "bool":
            return "true or false"
        if self.kind == "str":
            return "a non-empty string without whitespace"
        low = (
            ""
            if self.minimum is None
            else f"{'>' if self.exclusive_minimum else '>='} {self.minimum}"
        )
        high = "" if self.maximum is None else f"<= {self.maximum}"
        bounds = " and ".join(b for b in (low, high) if b)
        noun = "an integer" if self.kind == "int" else "a number"
        return f"{noun} {bounds}".strip()


# Arguments checked before vLLM sees them. Others under the prefixes pass through.
KNOWN_ARGS: dict[str, Arg] = {
    "model": Arg("str"),
    "served_model_name": Arg("str"),
    "tool_call_parser": Arg("str"),
    "reasoning_parser": Arg("str"),
    "enable_auto_tool_choice": Arg("bool", negatable=False),
    "max_model_len": Arg("int", minimum=256, maximum=131072),
    "gpu_memory_utilization": Arg("float", minimum=0.0, maximum=1.0, exclusive_minimum=True),
    "tensor_parallel_size": Arg("int", minimum=1, maximum=8),
    "enable_prefix_caching": Arg("bool"),
    "async_scheduling": Arg("bool"),
    "enforce_eager": Arg("bool"),
    "enable_chunked_prefill": Arg("bool"),
    "trust_remote_code": Arg("bool"),
    "max_num_seqs": Arg("int", minimum=1),
    "max_num_batched_tokens": Arg("int", minimum=1),
    "swap_space": Arg("float", minimum=0.0),
    "dtype": Arg("str"),
    "kv_cache_dtype": Arg("str"),
    "revision": Arg("str"),
    "uvicorn_log_level": Arg("str"),
}
ALIASES = {"tensor_parallel_degree": "tensor_parallel_size"}  # the DJL/LMI spelling
IGNORED = frozenset({"rolling_batch", "entrypoint"})  # DJL/LMI-only settings, meaningless here
RESERVED = frozenset({"host", "port"})  # SageMaker's contract: 0.0.0.0:8080

# gpt-oss-20b on one L40S (ml.g6e.4xlarge). Order is the order of the command line.
DEFAULTS: dict[str, str] = {
    "served_model_name": "model",
    "tool_call_parser": "openai",
    "enable_auto_tool_choice": "true",
    "reasoning_parser": "openai_gptoss",
    "max_model_len": "32768",
    "gpu_memory_utilization": "0.90",
    "tensor_parallel_size": "1",
    "enable_prefix_caching": "true",
}


@dataclass(frozen=True)
class Plan:
    """What the container will run: the argv of ``vllm serve`` and the extra child env."""

    argv: list[str]
    env: dict[str, str]

    def shell(self) -> str:
        extra = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        return f"{extra} {shlex.join(self.argv)}".strip()


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check(name: str, variable: str, raw: str) -> str:
    """Validate ``raw`` for a known argument; returns the normalised value."""
    spec = KNOWN_ARGS.get(name)
    value = raw.strip()
    if spec is None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", name):
            raise ConfigError(f"{variable} is not a valid vLLM argument name")
        return value
    bad = ConfigError(f"{variable}={raw!r} is invalid: expected {spec.describe()}")
    if spec.kind == "bool":
        lowered = value.lower()
        if lowered not in TRUE | FALSE:
            raise bad
        return "true" if lowered in TRUE else "false"
    if spec.kind == "str":
        if not value or any(c.isspace() for c in value):
            raise bad
        return value
    try:
        number: float = int(value) if spec.kind == "int" else float(value)
    except ValueError:
        raise bad from None
    if number != number or number in (float("inf"), float("-inf")):  # NaN / inf
        raise bad
    if spec.minimum is not None and (
        number < spec.minimum or (spec.exclusive_minimum and number == spec.minimum)
    ):
        raise bad
    if spec.maximum is not None and number > spec.maximum:
        raise bad
    return value


def read_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Defaults overlaid by ``SM_VLLM_*`` / ``OPTION_*``, validated. Raises :class:`ConfigError`."""
    settings = {"model": DEFAULT_MODEL, **DEFAULTS}
    source: dict[str, str] = {}
    for variable in sorted(environ):
        prefix = next((p for p in PREFIXES if variable.startswith(p)), None)
        if prefix is None:
            continue
        raw = environ[variable]
        name = variable[len(prefix) :].lower()
        name = ALIASES.get(name, name)
        if not raw.strip():
            logger.info("%s is empty: ignored", variable)
            continue
        if name in IGNORED:
            logger.warning("%s is a DJL/LMI setting with no vLLM equivalent: ignored", variable)
            continue
        if name in RESERVED:
            raise ConfigError(
                f"{variable} cannot be set: SageMaker requires {HOST}:{PORT}, fixed by the image"
            )
        value = _check(name, variable, raw)
        if name in source and settings[name] != value:
            raise ConfigError(
                f"{variable}={raw!r} conflicts with {source[name]}={environ[source[name]]!r}"
            )
        settings[name] = value
        source[name] = variable
    return settings


def _is_bool(name: str, value: str) -> bool:
    spec = KNOWN_ARGS.get(name)
    if spec is not None:
        return spec.kind == "bool"
    return value.lower() in ("true", "false")  # vLLM's SageMaker convention for unknown flags


def build_plan(environ: Mapping[str, str]) -> Plan:
    """The ``vllm serve`` command line and child environment for ``environ``."""
    settings = read_settings(environ)
    model = settings.pop("model")
    argv = ["vllm", "serve", model, "--host", HOST, "--port", str(PORT)]
    ordered = [n for n in DEFAULTS if n in settings] + sorted(
        n for n in settings if n not in DEFAULTS
    )
    for name in ordered:
        value = settings[name]
        if not _is_bool(name, value):
            argv += [_flag(name), value]
        elif value.lower() == "true":
            argv.append(_flag(name))
        elif name in KNOWN_ARGS and KNOWN_ARGS[name].negatable:
            argv.append("--no-" + name.replace("_", "-"))
        else:
            logger.info("%s is false: flag omitted", name)
    env: dict[str, str] = {}
    if model.startswith("/"):
        # Weights come from the model's S3 data source; never reach for a hub.
        env["HF_HUB_OFFLINE"] = "1"
        env["TRANSFORMERS_OFFLINE"] = "1"
    return Plan(argv=argv, env=env)


def preflight(plan: Plan, environ: Mapping[str, str]) -> None:
    """Checks that need the real container filesystem (skipped by ``--dry-run``)."""
    model = plan.argv[2]
    if model.startswith("/") and not (Path(model) / "config.json").is_file():
        raise ConfigError(
            f"OPTION_MODEL={model!r} has no config.json: the model's S3 data source did not "
            "deliver the weights (check ModelDataSource and the staged prefix)"
        )
    base = environ.get("TIKTOKEN_ENCODINGS_BASE", "")
    missing = [f for f in TIKTOKEN_FILES if not (Path(base) / f).is_file()] if base else []
    if not base or missing:
        logger.warning(
            "TIKTOKEN_ENCODINGS_BASE=%r lacks %s: the harmony tokenizer will try the internet",
            base,
            missing or list(TIKTOKEN_FILES),
        )


def _fail(message: str) -> NoReturn:
    logger.error("%s", message)
    raise SystemExit(2)


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    execvpe: Callable[[str, list[str], dict[str, str]], object] = os.execvpe,
) -> int:
    """Parse the CLI (``[serve] [--dry-run]``), build the command, print or exec it."""
    if not logging.getLogger().handlers:  # the container: configure; a test harness: keep its own
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s serve.py: %(message)s"
        )
    parser = argparse.ArgumentParser(
        prog="serve.py", description="Start vLLM for gpt-oss on SageMaker (port 8080)."
    )
    parser.add_argument(
        "command", nargs="?", choices=["serve"], help="SageMaker passes 'serve'; optional"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the command, do not run it")
    args = parser.parse_args(argv)
    env = dict(os.environ if environ is None else environ)
    try:
        plan = build_plan(env)
        if args.dry_run:
            print(plan.shell())  # noqa: T201 (the CLI's output)
            return 0
        preflight(plan, env)
    except ConfigError as err:
        _fail(str(err))
    logger.info("starting: %s", plan.shell())
    execvpe(plan.argv[0], plan.argv, {**env, **plan.env})
    return 0  # only reached with a test double for execvpe


if __name__ == "__main__":
    sys.exit(main())
