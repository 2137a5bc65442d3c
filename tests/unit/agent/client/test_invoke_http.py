"""What the HTTP client prints: the server's text with escape sequences shown, not obeyed."""

from __future__ import annotations

from stock_agent.client.invoke_http import terminal_safe


def test_terminal_safe_shows_escapes_instead_of_obeying_them() -> None:
    text = "a\x1b[2J\x1b]0;t\x07\x9b31m\u202eb\u200b\x7f\nc\td"
    safe = terminal_safe(text)
    assert safe == "a\\x1b[2J\\x1b]0;t\\x07\\x9b31m\\u202eb\\u200b\\x7f\nc\td"
