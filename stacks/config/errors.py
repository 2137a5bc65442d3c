"""The one error type of the stage config and the validators every section uses.

Every message has one shape, ``<key>=<value> is invalid: expected <what is allowed>``,
so a bad ``-c config.<section>.<field>=<value>`` stops synth with one line that
names the key, the value and the fix.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A stage setting CDK cannot deploy; the message names key, value and what is allowed."""


def invalid(key: str, value: object, allowed: str) -> ConfigError:
    """The one error message shape: key, value, what is allowed."""
    return ConfigError(f"{key}={value!r} is invalid: expected {allowed}")


def require(ok: bool, key: str, value: object, allowed: str) -> None:
    """Raise :func:`invalid` unless ``ok``."""
    if not ok:
        raise invalid(key, value, allowed)


def positive(key: str, value: int, *, minimum: int = 1, maximum: int | None = None) -> None:
    """An integer (never a bool) in ``[minimum, maximum]``."""
    upper = "" if maximum is None else f" and <= {maximum}"
    require(
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= minimum
        and (maximum is None or value <= maximum),
        key,
        value,
        f"an integer >= {minimum}{upper}",
    )


def number(key: str, value: object, low: float, high: float) -> None:
    """A number (never a bool) in ``(low, high]``."""
    require(
        isinstance(value, int | float) and not isinstance(value, bool) and low < value <= high,
        key,
        value,
        f"a number in ({low:g}, {high:g}]",
    )


def flag(key: str, value: object) -> None:
    """A boolean."""
    require(isinstance(value, bool), key, value, "true | false")
