"""Apply ``-c config.<section>.<field>=<value>`` overrides to a stage config.

Strings from CDK context are converted to each field's type; all overrides
are applied together (keys that must change as a pair can), and the result
is validated as a whole by :class:`~stacks.config.stage.StageConfig`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import is_dataclass, replace
from typing import Any, cast, get_type_hints

from .errors import invalid
from .runtime import JwtSettings
from .stage import StageConfig


def apply_overrides(config: StageConfig, overrides: Mapping[str, Any]) -> StageConfig:
    """``config`` with every dotted key of ``overrides`` applied (raises :class:`ConfigError`)."""
    changes = {key: (key, value) for key, value in overrides.items()}
    return cast(StageConfig, _rebuild(config, "", changes))


def _rebuild(node: Any, prefix: str, changes: Mapping[str, tuple[str, Any]]) -> Any:
    """Return ``node`` (a config dataclass) with ``changes`` applied, recursively.

    ``changes`` maps a dotted path relative to ``node`` to ``(full key,
    value)``; the full key is what an error names. Sections nest
    (``operations.alarms.email``); a section itself cannot be replaced by a
    plain value, and ``stage`` cannot be overridden at all (it is ``-c stage``).
    """
    hints = get_type_hints(type(node))
    top = not prefix
    direct: dict[str, Any] = {}
    nested: dict[str, dict[str, tuple[str, Any]]] = {}
    for path, (key, value) in changes.items():
        name, _, rest = path.partition(".")
        current = getattr(node, name, None) if name in hints else None
        if top and name == "retain_data" and not rest:
            direct[name] = _coerce(key, bool, value)
        elif top and (name not in hints or name == "stage" or not _is_section(current)):
            sections = sorted(n for n in hints if _is_section(getattr(node, n)))
            raise invalid(
                key, value, "a key <section>.<field> with section one of " + ", ".join(sections)
            )
        elif name not in hints:
            raise invalid(key, value, f"a field of {prefix.rstrip('.')}: " + ", ".join(hints))
        elif rest and _is_section(current):
            nested.setdefault(name, {})[rest] = (key, value)
        elif rest:
            raise invalid(key, value, f"a key ending at {prefix}{name} ({name} has no fields)")
        elif _is_section(current) and name != "jwt":
            raise invalid(
                key,
                value,
                f"a key {prefix}{name}.<field>: one of " + ", ".join(get_type_hints(type(current))),
            )
        elif name == "jwt":
            direct[name] = _coerce_jwt(key, value)
        else:
            direct[name] = _coerce(key, hints[name], value)
    for name, sub_changes in nested.items():
        direct[name] = _rebuild(getattr(node, name), f"{prefix}{name}.", sub_changes)
    return replace(node, **direct)


def _is_section(value: Any) -> bool:
    """Whether ``value`` is a nested config section (a dataclass instance)."""
    return is_dataclass(value) and not isinstance(value, type)


def _coerce(key: str, hint: Any, value: Any) -> Any:
    """Convert a context string to ``hint``; non-strings pass through unchanged."""
    if not isinstance(value, str):
        return tuple(value) if isinstance(value, list) else value
    text = value.strip()
    optional = "None" in str(hint)
    if optional and text.lower() in ("", "none", "null"):
        return None
    kind = hint.__name__ if isinstance(hint, type) else str(hint)
    try:
        if hint is bool or kind.startswith("bool"):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        if hint is int or kind.startswith("int"):
            return int(text)
        if hint is float or kind.startswith("float"):
            return float(text)
        if kind.startswith("tuple"):
            return tuple(p.strip() for p in text.split(",") if p.strip())
    except ValueError:
        raise invalid(key, value, f"a value of type {kind}") from None
    return text


def _coerce_jwt(key: str, value: Any) -> JwtSettings | None:
    if value is None or isinstance(value, JwtSettings):
        return value
    if isinstance(value, Mapping):
        try:
            return JwtSettings(
                discovery_url=str(value["discovery_url"]),
                allowed_clients=tuple(value.get("allowed_clients", ())),
                allowed_audience=tuple(value.get("allowed_audience", ())),
            )
        except KeyError:
            raise invalid(key, value, "a mapping with discovery_url") from None
    raise invalid(key, value, "a mapping {discovery_url, allowed_clients, allowed_audience}")
