"""What an operator sees: JSON-lines logs, EMF metrics, a span per graph node."""
