"""Constructs: one logical unit each, with narrow keyword-only props (never the stage config)."""
