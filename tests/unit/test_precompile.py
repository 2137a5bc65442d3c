"""The controller's one-time compile of the heavy imports (tests.support.precompile)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support import precompile


@pytest.fixture
def fresh_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module never imported or compiled, importable here and in a child process."""
    name = f"precompile_probe_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(precompile, "IMPORT_GROUPS", ((name, (name,)),))
    return name


def test_a_cold_group_is_compiled_once_then_left_alone(fresh_module: str) -> None:
    assert not precompile.has_bytecode(fresh_module)
    cold = precompile.compile_heavy_imports()
    assert cold.codes == [0]
    assert cold.header() == f"bytecode warm-up: 1 import group(s) in {cold.seconds:.1f} s"
    assert precompile.has_bytecode(fresh_module)
    warm = precompile.compile_heavy_imports()
    assert warm.codes == [] and warm.header() is None  # warm: nothing started


def test_nothing_is_started_where_bytecode_may_not_be_written(
    fresh_module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert precompile.compile_heavy_imports().codes == []
    assert not precompile.has_bytecode(fresh_module)


def test_a_failing_import_is_reported_not_raised(
    fresh_module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        precompile, "IMPORT_GROUPS", ((fresh_module, ("no_such_module_anywhere",)),)
    )
    assert precompile.compile_heavy_imports().codes == [1]


def test_every_group_names_importable_modules_and_a_sentinel() -> None:
    """A renamed module would silently turn the warm-up into a no-op."""
    import importlib.util

    for sentinel, modules in precompile.IMPORT_GROUPS:
        for module in (sentinel, *modules):
            assert importlib.util.find_spec(module) is not None, module
