"""Dependencies are pinned and hash-locked, and the image's lock agrees with the dev lock.

The requirements files declare the direct dependencies (exact pins); ``make lock``
resolves them into ``requirements.lock`` (dev) and ``agent_runtime/requirements.lock``
(the image: the dev lock filtered to the agent's requirements), every file with its
SHA-256. These tests read the real files; the closure check reads the installed
distributions' metadata (the dev venv holds exactly the dev lock).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.support.dockerfile import parse_dockerfile

ROOT = Path(__file__).resolve().parents[2]
DEV_LOCK = ROOT / "requirements.lock"
AGENT_LOCK = ROOT / "agent_runtime" / "requirements.lock"
UV_BOOTSTRAP = ROOT / "agent_runtime" / "uv-bootstrap.txt"
DECLARED = (
    ROOT / "requirements.txt",
    ROOT / "requirements-dev.txt",
    ROOT / "agent_runtime" / "requirements.txt",
    ROOT / "agent_runtime" / "build-requirements.txt",
)
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]+\])?==([^\s;#\\]+)")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
# Linux x86_64 and arm64 under CPython 3.11: where the lock is installed (the image's
# Python), whichever interpreter runs the test; every marker variable that names the
# interpreter or the platform is the image's.
IMAGE_PYTHON = "3.11.14"
LINUX_311 = {
    **default_environment(),
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": IMAGE_PYTHON.rpartition(".")[0],
    "python_full_version": IMAGE_PYTHON,
    "implementation_version": IMAGE_PYTHON,
}


@dataclass(frozen=True)
class Locked:
    name: str
    version: str
    marker: str
    hashes: frozenset[str]


def declared_pins(path: Path) -> dict[str, str]:
    """Name -> version of a hand-written requirements file (``-r`` lines skipped)."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-r"):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: {raw!r} is not pinned with =="
        pins[canonicalize_name(match.group(1))] = match.group(3)
    return pins


def read_lock(path: Path) -> list[Locked]:
    """Every entry of a ``uv pip compile --generate-hashes`` file (continuations joined)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement, _, _ = line.partition(" --hash")
        match = PIN.match(requirement.strip())
        assert match, f"{path.name}: {line[:80]!r} is not pinned with =="
        _, _, marker = requirement.partition(";")
        entries.append(
            Locked(
                name=canonicalize_name(match.group(1)),
                version=match.group(3),
                marker=marker.strip(),
                hashes=frozenset(HASH.findall(line)),
            )
        )
    return entries


def for_linux(entries: list[Locked]) -> dict[str, Locked]:
    """The entries that apply on Linux under the image's CPython 3.11, by name (one each)."""
    chosen: dict[str, Locked] = {}
    for entry in entries:
        if entry.marker and not Requirement(f"x; {entry.marker}").marker.evaluate(LINUX_311):  # type: ignore[union-attr]
            continue
        assert entry.name not in chosen, f"{entry.name} locked twice for Linux / 3.11"
        chosen[entry.name] = entry
    return chosen


def test_every_requirement_file_pins_exact_versions() -> None:
    for path in DECLARED:
        assert declared_pins(path), f"{path} pins nothing"


def test_every_locked_file_has_a_hash() -> None:
    for path in (DEV_LOCK, AGENT_LOCK, UV_BOOTSTRAP):
        entries = read_lock(path)
        assert entries, f"{path} locks nothing"
        unhashed = [e.name for e in entries if not e.hashes]
        assert not unhashed, f"{path.name}: no --hash for {unhashed}"


def test_lock_parser_reads_markers_hashes_and_rejects_loose_pins(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    a, b = "a" * 64, "b" * 64
    lock.write_text(
        f"# header\nFoo_Bar==1.0 ; sys_platform == 'win32' \\\n    --hash=sha256:{a}\n"
        f"    # via x\nbaz==2.0 \\\n    --hash=sha256:{a} \\\n    --hash=sha256:{b}\n"
    )
    entries = read_lock(lock)
    assert entries == [
        Locked("foo-bar", "1.0", "sys_platform == 'win32'", frozenset({a})),
        Locked("baz", "2.0", "", frozenset({a, b})),
    ]
    assert set(for_linux(entries)) == {"baz"}
    lock.write_text("baz>=2.0\n")
    with pytest.raises(AssertionError, match="not pinned"):
        read_lock(lock)


def test_the_lock_holds_every_declared_pin() -> None:
    """Editing a requirements file without ``make lock`` fails here (run ``make lock``)."""
    locked = {e.name: e.version for e in for_linux(read_lock(DEV_LOCK)).values()}
    for path in DECLARED:
        stale = {
            name: (version, locked.get(name))
            for name, version in declared_pins(path).items()
            if locked.get(name) != version
        }
        assert not stale, f"{path.name} and requirements.lock disagree (run `make lock`): {stale}"


def test_agent_lock_is_the_dev_lock_filtered() -> None:
    """Same version and same hashes for every package the image installs.

    Compared as installed on Linux / CPython 3.11: the two locks may write a
    package's marker differently (cffi is unconditional in the dev lock, which
    curl-cffi pulls in, and CPython-only in the image's, which only cryptography
    needs), and that changes nothing the image installs.
    """
    dev = for_linux(read_lock(DEV_LOCK))
    agent = read_lock(AGENT_LOCK)
    differing = [
        name
        for name, e in for_linux(agent).items()
        if name not in dev or (dev[name].version, dev[name].hashes) != (e.version, e.hashes)
    ]
    assert not differing, f"agent_runtime/requirements.lock disagrees with the dev one: {differing}"
    names = {e.name for e in agent}
    for path in (ROOT / "agent_runtime" / "requirements.txt", DECLARED[3]):
        missing = sorted(set(declared_pins(path)) - names)
        assert not missing, f"{path.name}: missing from agent_runtime/requirements.lock: {missing}"
    dev_only = {"pytest", "moto", "mypy", "ruff", "cfn-lint", "aws-cdk-lib", "pytest-xdist"}
    assert not dev_only & names, "test and CDK tooling must stay out of the image"


def _requirements_of(name: str, extras: frozenset[str]) -> set[tuple[str, frozenset[str]]]:
    """(name, extras) of what ``name[extras]`` needs on Linux / 3.11, from its metadata."""
    needed = set()
    for text in metadata.requires(name) or []:
        requirement = Requirement(text)
        if requirement.marker is not None and not any(
            requirement.marker.evaluate({**LINUX_311, "extra": extra})
            for extra in ("", *sorted(extras))
        ):
            continue
        needed.add((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return needed


def test_agent_lock_is_closed_under_dependencies() -> None:
    """Every dependency of every package in the image's lock is in that lock too.

    Walks the installed metadata from the agent's direct requirements (the dev venv
    was installed from the dev lock, which agrees with the agent lock), evaluating
    markers for the image's Python. On another interpreter a package the image alone
    needs is not installed: it must be in the lock, and its own requirements are
    walked where the suite runs on the image's Python.
    """
    locked = for_linux(read_lock(AGENT_LOCK))
    todo = {
        (canonicalize_name(Requirement(line).name), frozenset(Requirement(line).extras))
        for line in (ROOT / "agent_runtime" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        name, extras = item
        assert name in locked, f"{name} is needed by the agent but not in its lock"
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            # Needed by the image's Python only (a marker like python_full_version < '3.12'):
            # this interpreter did not install it, so its own requirements cannot be read here.
            marker = locked[name].marker
            assert marker, f"{name} applies to every interpreter but is not installed"
            assert not Requirement(f"x; {marker}").marker.evaluate(), (  # type: ignore[union-attr]
                f"{name} applies to this interpreter but is not installed"
            )
            continue
        assert installed == locked[name].version, name
        todo |= _requirements_of(name, extras)
    unused = sorted(set(locked) - {n for n, _ in seen} - set(declared_pins(DECLARED[3])))
    assert not unused, f"locked for the image but needed by nothing: {unused}"


def test_build_backend_pin_satisfies_the_agent_package() -> None:
    """``--no-build-isolation`` builds with the locked setuptools: it must meet build-system."""
    pyproject = (ROOT / "agent_runtime" / "pyproject.toml").read_text()
    [requires] = re.findall(r'requires = \["setuptools([^"]*)"\]', pyproject)
    assert declared_pins(DECLARED[3])["setuptools"] in SpecifierSet(requires)


def test_uv_bootstrap_pins_the_makefiles_uv() -> None:
    [version] = re.findall(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    [entry] = read_lock(UV_BOOTSTRAP)
    assert (entry.name, entry.version) == ("uv", version)


def test_image_installs_only_from_the_hash_checked_locks() -> None:
    instructions = parse_dockerfile((ROOT / "agent_runtime" / "Dockerfile").read_text())
    runs = [i.args for i in instructions if i.keyword == "RUN"]
    installs = [cmd for run in runs for cmd in run.split("&&") if " install " in f" {cmd} "]
    assert installs, "the Dockerfile installs nothing"
    for cmd in installs:
        words = cmd.split()
        if "--no-deps" in words and "--offline" in words and words[-1] == ".":
            continue  # the package itself: no dependency, nothing fetched
        assert "--require-hashes" in words, cmd
        assert words[words.index("-r") + 1] in ("uv-bootstrap.txt", "requirements.lock"), cmd
    copied = " ".join(i.args for i in instructions if i.keyword == "COPY")
    assert "uv-bootstrap.txt" in copied and "requirements.lock" in copied
