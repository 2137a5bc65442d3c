"""Calling an agent from outside: a deployed runtime or a local server, and the terminal chat."""
