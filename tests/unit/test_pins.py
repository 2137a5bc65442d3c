"""Dependencies are pinned, and the container's pins agree with the dev environment's."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]+\])?==([^\s;#]+)")


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-r"):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: {raw!r} is not pinned with =="
        pins[match.group(1).lower().replace("_", "-")] = match.group(3)
    return pins


def test_every_requirement_file_pins_exact_versions() -> None:
    files = [
        ROOT / "requirements.txt",
        ROOT / "requirements-dev.txt",
        ROOT / "constraints.txt",
        ROOT / "agent_runtime" / "requirements.txt",
        ROOT / "agent_runtime" / "constraints.txt",
    ]
    for path in files:
        assert _pins(path), f"{path} pins nothing"


def test_container_pins_match_the_dev_environment() -> None:
    dev = _pins(ROOT / "constraints.txt")
    runtime = _pins(ROOT / "agent_runtime" / "constraints.txt")
    direct = _pins(ROOT / "agent_runtime" / "requirements.txt")
    mismatched = {n: (v, dev.get(n)) for n, v in runtime.items() if dev.get(n) != v}
    assert not mismatched, f"agent_runtime/constraints.txt disagrees: {mismatched}"
    missing = sorted(set(direct) - set(runtime))
    assert not missing, f"direct runtime requirements missing from the container pins: {missing}"


def test_container_installs_with_its_constraints() -> None:
    dockerfile = (ROOT / "agent_runtime" / "Dockerfile").read_text()
    assert "-c constraints.txt" in dockerfile
    assert "COPY requirements.txt constraints.txt" in dockerfile
