"""The HTTP guard's header rules at their edges: host names, declared body lengths."""

from __future__ import annotations

import pytest
from stock_agent.errors import AgentError
from stock_agent.server.http_guard import _hostname, declared_length


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("localhost:8080", "localhost"),
        ("LOCALHOST.", "localhost"),
        ("[::1]:8080", "::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("evil.example:80", "evil.example"),
    ],
)
def test_host_names_are_read_without_port_or_case(host: str, name: str) -> None:
    assert _hostname(host) == name


def _scope(**headers: str) -> dict[str, object]:
    return {"headers": [(k.encode(), v.encode()) for k, v in headers.items()]}


def test_a_declared_length_at_the_limit_passes_and_one_byte_more_does_not() -> None:
    assert declared_length(_scope(**{"content-length": "65536"}), 65536) == 65536
    with pytest.raises(AgentError) as info:
        declared_length(_scope(**{"content-length": "65537"}), 65536)
    assert info.value.code == "payload_too_large"
    with pytest.raises(AgentError) as bad:
        declared_length(_scope(**{"content-length": "-1"}), 65536)
    assert bad.value.code == "invalid_header"
