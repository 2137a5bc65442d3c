"""Repository tools run by make and CI (not deployed, not imported by stacks)."""
