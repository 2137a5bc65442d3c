"""Merging a partial bench run into RESULTS.md, and the parsing behind row 8 (no timings)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.report import Results, Row, parse_table, write_results
from bench.rows_setup import (
    clean_env,
    failed_tests,
    pytest_cpu_seconds,
    pytest_seconds,
    seconds_per_file,
)


def _row(number: str, figure: str, ok: bool | None = True) -> Row:
    return Row(number, f"what {number}", figure, "target | with pipe", ok, f"note {number}")


def test_merge_replaces_measured_rows_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    first = Results(rows=[_row("1", "a"), _row("7", "n1"), _row("7", "n8", False), _row("R", "x")])
    first.details = ["### details", "", "kept detail"]
    write_results(first, path=path, changes_path=None, command="python -m bench.run")
    write_results(
        Results(rows=[_row("7", "new"), _row("8a", "30 s")]),
        path=path,
        changes_path=None,
        command="python -m bench.run --rows 7,8 --merge",
        merge=True,
    )
    text = path.read_text()
    rows = parse_table(text.split("## Figures")[1].split("\n## ")[0])
    assert [(r.number, r.figure) for r in rows] == [
        ("1", "a"),
        ("7", "new"),
        ("R", "x"),
        ("8a", "30 s"),
    ]
    assert rows[0] == _row("1", "a")  # pipes and verdicts survive the round trip
    assert "rows 1, R kept from the previous run" in text and "`python -m bench.run`" in text
    assert "kept detail" in text
    assert "(4 met, 0 missed, 0 not measured)" in text


def test_without_merge_the_file_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    write_results(Results(rows=[_row("1", "a")]), path=path, changes_path=None, command="c")
    write_results(Results(rows=[_row("8a", "b")]), path=path, changes_path=None, command="c")
    rows = parse_table(path.read_text())
    assert [r.number for r in rows] == ["8a"]


def test_pytest_seconds_reads_the_last_summary_line() -> None:
    output = (
        "==== 3 passed in 1.00s ====\n....\n"
        "================ 734 passed, 2 warnings in 45.68s (0:00:45) ================\n"
    )
    assert pytest_seconds(output) == (734, 45.68)
    failing = (
        "FAILED tests/a.py::test_x - AssertionError\nFAILED tests/b.py::test_y[dev]\n"
        "======= 2 failed, 751 passed, 2 warnings in 257.76s (0:04:17) =======\n"
    )
    assert pytest_seconds(failing) == (751, 257.76)
    assert failed_tests(failing) == ["tests/a.py::test_x", "tests/b.py::test_y[dev]"]
    with pytest.raises(RuntimeError, match="no pytest summary"):
        pytest_seconds("make: *** [test] Error 1")
    # The warm-up before pytest's clock counts (a fresh venv's first run).
    warmed = "bytecode warm-up: 2 import group(s) in 13.9 s\n" + output
    assert pytest_seconds(warmed) == (734, 59.58)


def test_pytest_cpu_and_the_time_per_test_file_are_read_from_the_run() -> None:
    printed = (
        "== 3 passed in 1.00s ==\npytest CPU: 312.4 s (this process 20.1 s, its workers ...)\n"
    )
    assert pytest_cpu_seconds(printed) == 312.4
    assert pytest_cpu_seconds("== 3 passed in 1.00s ==") is None


def test_seconds_per_file_sums_each_files_tests_largest_first(tmp_path: Path) -> None:
    junit = tmp_path / "suite.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.unit.a.test_x" name="t1" time="1.5"/>'
        '<testcase classname="tests.unit.a.test_x.TestGroup" name="t2" time="2.0"/>'
        '<testcase classname="tests.integration.test_y" name="t3[dev]" time="4.0"/>'
        "</testsuite></testsuites>"
    )
    assert list(seconds_per_file(junit).items()) == [
        ("tests/integration/test_y.py", 4.0),
        ("tests/unit/a/test_x.py", 3.5),
    ]


def test_clean_env_hides_uv_and_points_every_cache_into_the_scratch_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_uv = tmp_path / "bin"
    with_uv.mkdir()
    (with_uv / "uv").write_text("")
    monkeypatch.setenv("PATH", f"{with_uv}{os.pathsep}/usr/bin")
    monkeypatch.setenv("UV_INDEX_URL", "https://mirror.example/simple")
    monkeypatch.setenv("MAKEFLAGS", "-j8")
    env = clean_env(tmp_path / "caches")
    assert env["PATH"] == "/usr/bin"
    assert "UV_INDEX_URL" not in env and "MAKEFLAGS" not in env
    assert env["UV_CACHE_DIR"] == str(tmp_path / "caches" / "uv")
    assert env["PIP_CACHE_DIR"] == str(tmp_path / "caches" / "pip")
    assert env["npm_config_cache"] == str(tmp_path / "caches" / "npm")
