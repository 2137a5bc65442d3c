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

LoRA adapters beside the base model: ``OPTION_LORA_MODULES`` (or
``SM_VLLM_LORA_MODULES``) is ``NAME=URI[,NAME=URI...]`` with ``URI`` an
``s3://bucket/prefix/`` folder or an absolute path. It becomes
``--enable-lora --lora-modules NAME=/local/dir ... --max-lora-rank R
--max-loras N``; each S3 folder is downloaded into :data:`ADAPTER_ROOT`
before vLLM starts (the container's role may read only those prefixes), and
an adapter whose rank exceeds ``--max-lora-rank`` stops the start with the
adapter's name. A request picks an adapter by sending its ``NAME`` as the
chat-completions ``model``; ``model`` (the served base name) keeps the base.

With adapters the command also gets the configuration vLLM's gpt-oss LoRA
path was run with upstream (:data:`LORA_DEFAULTS`): piecewise CUDA graphs
(``--compilation-config '{"cudagraph_mode":"PIECEWISE"}'``) and the Marlin
MXFP4 MoE kernel, the one LoRA-capable MXFP4 kernel on the L40S, named so any
GPU takes the same path. Each adapter is checked against what the pinned
vLLM serves on gpt-oss (:mod:`lora_support`: target modules, the expert
pair, tensor names and shapes) before vLLM starts, so an adapter vLLM would
reject on its first request stops the container with one line instead.

``python3 serve.py [serve] --dry-run`` prints the command instead of running it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

# lora_support.py sits beside this file (/opt/program in the image). Run as a script its
# folder is on sys.path already; loaded by path (tests, tools) it is not.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import lora_support

logger = logging.getLogger("model_container.serve")

HOST = "0.0.0.0"  # noqa: S104 (the container must listen on all interfaces)
PORT = 8080  # SageMaker sends /ping and /invocations to 8080
PREFIXES = ("SM_VLLM_", "OPTION_")
DEFAULT_MODEL = "openai/gpt-oss-20b"
TIKTOKEN_FILES = ("o200k_base.tiktoken", "cl100k_base.tiktoken")
ADAPTER_ROOT = Path("/tmp/lora-adapters")  # noqa: S108 (the container's own scratch space)
LORA_RANKS = lora_support.LORA_RANKS  # vLLM's accepted --max-lora-rank values
DEFAULT_MAX_LORA_RANK = "16"
MAX_ADAPTERS = 16
_ADAPTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_S3_FOLDER = re.compile(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/((?:[^/\s,]+/)*)")
TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off"})


class ConfigError(ValueError):
    """A variable has a value the container cannot start with; the message names it."""


@dataclass(frozen=True)
class Arg:
    """A vLLM argument the entrypoint knows and validates."""

    kind: str  # "str" | "int" | "float" | "bool" | "json" (an object)
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    negatable: bool = True  # bool: vLLM accepts --no-<flag>

    def describe(self) -> str:
        if self.kind == "bool":
            return "true or false"
        if self.kind == "str":
            return "a non-empty string without whitespace"
        if self.kind == "json":
            return "a JSON object"
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
    "max_loras": Arg("int", minimum=1, maximum=MAX_ADAPTERS),
    "max_lora_rank": Arg("int", minimum=1, maximum=512),
    "enable_lora": Arg("bool", negatable=False),
    "compilation_config": Arg("json"),
    "moe_backend": Arg("str"),
}
# Set through OPTION_LORA_MODULES only (parsed and rewritten by :func:`read_adapters`).
LORA_MODULES = "lora_modules"
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
# Added when adapters are served (an explicit OPTION_/SM_VLLM_ value wins). Upstream's
# gpt-oss LoRA runs on the Marlin MXFP4 kernel used piecewise CUDA graphs
# (docs/model-container.md has the evidence); "marlin" is what vLLM picks with LoRA on
# an L40S anyway, and naming it makes a smoke test on another GPU take the same path.
LORA_CUDAGRAPH_MODE = "PIECEWISE"
LORA_DEFAULTS: dict[str, str] = {
    "compilation_config": json.dumps({"cudagraph_mode": LORA_CUDAGRAPH_MODE}),
    "moe_backend": "marlin",
}


@dataclass(frozen=True)
class Plan:
    """What the container will run: the argv of ``vllm serve`` and the extra child env."""

    argv: list[str]
    env: dict[str, str]
    # (served name, source URI or path, local folder vLLM loads it from)
    adapters: tuple[tuple[str, str, str], ...] = ()

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
    if spec.kind == "json":
        try:
            parsed = json.loads(value)
        except ValueError:
            raise bad from None
        if not isinstance(parsed, dict):
            raise bad
        return json.dumps(parsed, separators=(",", ":"))
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
    if name == "max_lora_rank" and number not in LORA_RANKS:
        raise ConfigError(
            f"{variable}={raw!r} is invalid: expected one of {', '.join(map(str, LORA_RANKS))}"
        )
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
        value = raw.strip() if name == LORA_MODULES else _check(name, variable, raw)
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
    adapters = read_adapters(settings.pop(LORA_MODULES, ""), environ)
    if adapters:
        settings["enable_lora"] = "true"
        settings.setdefault("max_lora_rank", DEFAULT_MAX_LORA_RANK)
        settings.setdefault("max_loras", str(len(adapters)))
        settings.setdefault("moe_backend", LORA_DEFAULTS["moe_backend"])
        settings["compilation_config"] = _lora_compilation_config(
            settings.get("compilation_config")
        )
    elif settings.get("enable_lora") == "true":
        raise ConfigError("enable_lora is true but OPTION_LORA_MODULES names no adapter")
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
    if adapters:
        argv += ["--lora-modules", *(f"{name}={local}" for name, _, local in adapters)]
    env: dict[str, str] = {}
    if model.startswith("/"):
        # Weights come from the model's S3 data source; never reach for a hub.
        env["HF_HUB_OFFLINE"] = "1"
        env["TRANSFORMERS_OFFLINE"] = "1"
    return Plan(argv=argv, env=env, adapters=adapters)


def _lora_compilation_config(given: str | None) -> str:
    """The operator's compilation config with piecewise CUDA graphs unless it names a mode."""
    config = json.loads(given) if given else {}
    mode = config.setdefault("cudagraph_mode", LORA_CUDAGRAPH_MODE)
    if str(mode).upper() != LORA_CUDAGRAPH_MODE:
        logger.warning(
            "cudagraph_mode=%s with LoRA adapters: upstream's gpt-oss LoRA runs used %s; "
            "run model_container/gpu_smoke.py before serving traffic",
            mode,
            LORA_CUDAGRAPH_MODE,
        )
    return json.dumps(config, separators=(",", ":"))


def _variable(environ: Mapping[str, str], name: str) -> str:
    """Which variable set ``name`` (for error messages)."""
    return next(
        (p + name.upper() for p in PREFIXES if environ.get(p + name.upper(), "").strip()),
        PREFIXES[1] + name.upper(),
    )


def read_adapters(raw: str, environ: Mapping[str, str]) -> tuple[tuple[str, str, str], ...]:
    """``NAME=URI[,NAME=URI...]`` as (name, source, local folder); :class:`ConfigError` if bad."""
    if not raw:
        return ()
    variable = _variable(environ, LORA_MODULES)
    adapters: list[tuple[str, str, str]] = []
    for item in raw.split(","):
        name, sep, source = item.strip().partition("=")
        if not sep or not _ADAPTER_NAME.fullmatch(name):
            raise ConfigError(
                f"{variable}: {item.strip()!r} is invalid: expected NAME=URI with NAME 1-64 of "
                "[A-Za-z0-9._-]"
            )
        if name in ("model", *(a[0] for a in adapters)):
            raise ConfigError(f"{variable}: adapter name {name!r} is used twice or is the base's")
        if source.startswith("s3://"):
            folder = source if source.endswith("/") else source + "/"
            if not _S3_FOLDER.fullmatch(folder):
                raise ConfigError(f"{variable}: {source!r} is not an s3://bucket/prefix/ folder")
            adapters.append((name, folder, str(ADAPTER_ROOT / name)))
        elif source.startswith("/") and ".." not in source.split("/"):
            adapters.append((name, source, source))
        else:
            raise ConfigError(
                f"{variable}: {source!r} for {name!r} is invalid: expected s3://bucket/prefix/ "
                "or an absolute path"
            )
    if len(adapters) > MAX_ADAPTERS:
        raise ConfigError(f"{variable}: {len(adapters)} adapters; at most {MAX_ADAPTERS}")
    return tuple(adapters)


def download_adapters(plan: Plan, *, s3_client: object | None = None) -> None:
    """Fetch every S3 adapter folder into its local folder and check its rank.

    Only the objects under each adapter's prefix are listed and read (the
    SageMaker role may read nothing else). Raises :class:`ConfigError` naming
    the adapter when a folder is empty, has no ``adapter_config.json``, or
    needs a larger ``--max-lora-rank`` than the command gives.
    """
    max_rank = int(plan.argv[plan.argv.index("--max-lora-rank") + 1]) if plan.adapters else 0
    client: Any = s3_client
    for name, source, local in plan.adapters:
        if source.startswith("s3://"):
            if client is None:
                try:
                    import boto3  # in the vLLM image (run:ai model streamer's S3 extra)
                except ImportError as exc:
                    raise ConfigError(
                        f"adapter {name!r}: boto3 is not installed, cannot read {source}"
                    ) from exc
                client = boto3.client("s3")
            _download_prefix(client, name=name, source=source, target=Path(local))
        config_file = Path(local) / "adapter_config.json"
        try:
            rank = int(json.loads(config_file.read_text(encoding="utf-8")).get("r", 0))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"adapter {name!r}: unreadable adapter_config.json ({exc})") from None
        if rank > max_rank:
            raise ConfigError(
                f"adapter {name!r} has rank {rank}: set OPTION_MAX_LORA_RANK to at least {rank} "
                f"(now {max_rank})"
            )


def _download_prefix(client: Any, *, name: str, source: str, target: Path) -> None:
    bucket, _, prefix = source.removeprefix("s3://").partition("/")
    count = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            relative = obj["Key"][len(prefix) :]
            if not relative or relative.endswith("/"):
                continue
            destination = (target / relative).resolve()
            if target.resolve() not in destination.parents:
                raise ConfigError(f"adapter {name!r}: key {obj['Key']!r} escapes its folder")
            destination.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, obj["Key"], str(destination))
            count += 1
    if not count:
        raise ConfigError(f"adapter {name!r}: {source} holds no objects")
    logger.info("adapter %s: %d files from %s into %s", name, count, source, target)


def base_dims(model: str) -> tuple[bool, lora_support.GptOssDims | None]:
    """(is gpt-oss, its sizes when known) for a model path or hub id."""
    if model.startswith("/"):
        try:
            config = json.loads((Path(model) / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False, None
        dims = lora_support.dims_from_config(config) if isinstance(config, dict) else None
        return dims is not None, dims
    if model == DEFAULT_MODEL:
        return True, lora_support.GPT_OSS_20B
    return model.startswith("openai/gpt-oss"), None


def check_adapters(plan: Plan) -> None:
    """Refuse an adapter the pinned vLLM cannot serve on gpt-oss, naming it and why."""
    if not plan.adapters:
        return
    gpt_oss, dims = base_dims(plan.argv[2])
    if not gpt_oss:
        logger.info("%s is not gpt-oss: adapter checks for gpt-oss skipped", plan.argv[2])
        return
    for name, _, local in plan.adapters:
        problems = lora_support.check_adapter_dir(Path(local), dims=dims)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise ConfigError(
                f"adapter {name!r} cannot be served by vLLM {lora_support.VLLM_VERSION} on "
                f"gpt-oss: {problems[0]}{more}"
            )
        logger.info(
            "adapter %s: servable on gpt-oss (%s)",
            name,
            "shapes checked" if dims else "names checked; base sizes unknown",
        )


def preflight(plan: Plan, environ: Mapping[str, str]) -> None:
    """Checks that need the real container filesystem (skipped by ``--dry-run``)."""
    download_adapters(plan)
    model = plan.argv[2]
    if model.startswith("/") and not (Path(model) / "config.json").is_file():
        raise ConfigError(
            f"OPTION_MODEL={model!r} has no config.json: the model's S3 data source did not "
            "deliver the weights (check ModelDataSource and the staged prefix)"
        )
    check_adapters(plan)
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
