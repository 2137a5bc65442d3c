"""Model errors as a caller sees them: no host or address in the public message."""

from __future__ import annotations

from stock_agent.models.types import ModelError


def test_public_model_messages_name_no_host() -> None:
    err = ModelError("model_timeout", "http://10.1.2.3:8000/v1/chat/completions did not answer")
    assert "10.1.2.3" not in err.public_message and err.public_message
