"""Conversations: where sessions are kept and whose they are, and what a session remembers."""
