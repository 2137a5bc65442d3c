"""The evaluation harness: a golden set, graders and a results table.

``python -m eval`` (``make eval``) runs the golden set against the agent
in-process (offline model, simulated data), a local server (``--url``) or a
deployed runtime (``--runtime-arn``), grades every turn and writes
``eval/RESULTS.md``. The harness ships with the repository, not with the
agent image: it needs pypdf and the golden set, the container needs neither.
"""
