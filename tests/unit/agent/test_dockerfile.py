"""The agent container must not run as root (security).

AgentCore runs whatever user the image's final stage ends with. If a later
``RUN`` (or a ``USER root``) follows the ``USER`` line, the process runs with
more privilege than intended, so the test parses the real
``agent_runtime/Dockerfile`` (no Docker engine here) and checks the *final
stage*: a ``USER`` after its last ``RUN``, naming a non-zero uid or a non-root
name that the stage itself creates with a non-zero uid.
"""

from __future__ import annotations

import re
import shlex

import pytest

from tests.support.dockerfile import Instruction, parse_dockerfile
from tests.support.paths import REPO_ROOT

DOCKERFILE = REPO_ROOT / "agent_runtime" / "Dockerfile"


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    """The instructions of the last ``FROM`` stage (the image that ships)."""
    froms = [i for i, ins in enumerate(instructions) if ins.keyword == "FROM"]
    assert froms, "Dockerfile has no FROM"
    return instructions[froms[-1] :]


def created_uids(stage: list[Instruction]) -> dict[str, int]:
    """Users the stage creates with an explicit uid (``useradd``/``adduser``)."""
    users: dict[str, int] = {}
    for ins in stage:
        if ins.keyword != "RUN":
            continue
        for command in re.split(r"&&|;|\|\|", ins.args):
            words = shlex.split(command)
            if not words or words[0] not in ("useradd", "adduser"):
                continue
            uid: int | None = None
            name: str | None = None
            skip_next = False
            for index, word in enumerate(words[1:], start=1):
                if skip_next:
                    skip_next = False
                    continue
                if word in ("-u", "--uid"):
                    uid = int(words[index + 1])
                    skip_next = True
                elif word.startswith("--uid="):
                    uid = int(word.split("=", 1)[1])
                elif word.startswith("-"):
                    # options with a value: skip the value too
                    if word in (
                        "-g",
                        "--gid",
                        "-G",
                        "--groups",
                        "-s",
                        "--shell",
                        "-d",
                        "--home",
                        "--home-dir",
                        "-c",
                        "--comment",
                        "--gecos",
                        "--ingroup",
                        "-K",
                    ):
                        skip_next = True
                else:
                    name = word
            if name is not None and uid is not None:
                users[name] = uid
    return users


def effective_user(stage: list[Instruction]) -> tuple[str, Instruction]:
    users = [ins for ins in stage if ins.keyword == "USER"]
    assert users, "the final stage has no USER instruction: the container would run as root"
    last = users[-1]
    return last.args.split(":", 1)[0].strip(), last


def test_parser_reads_continuations_and_stages() -> None:
    """The parser itself, on a two-stage file whose first stage is root-only."""
    text = (
        "FROM python:3.11 AS build\nUSER root\nRUN pip wheel .\n\n"
        "FROM python:3.11-slim\n# comment\nRUN useradd \\\n  --uid 10001 \\\n  app\nUSER app\n"
    )
    stage = final_stage(parse_dockerfile(text))
    assert [i.keyword for i in stage] == ["FROM", "RUN", "USER"]
    assert created_uids(stage) == {"app": 10001}
    assert effective_user(stage)[0] == "app"


def root_problems(text: str) -> list[str]:
    """Every reason the image built from ``text`` would run as root (empty: none)."""
    stage = final_stage(parse_dockerfile(text))
    users = [ins for ins in stage if ins.keyword == "USER"]
    if not users:
        return ["no USER"]
    problems: list[str] = []
    user, user_ins = effective_user(stage)
    runs = [ins for ins in stage if ins.keyword == "RUN"]
    if runs and runs[-1].line > user_ins.line:
        problems.append("RUN after USER")
    if user in ("root", "") or (user.isdigit() and int(user) == 0):
        problems.append("uid 0")
    elif not user.isdigit():
        uid = created_uids(stage).get(user)
        if uid is None:
            problems.append("named user without explicit uid")
        elif uid == 0:
            problems.append("named uid 0")
    return problems


def test_agent_container_runs_as_non_root_after_last_run() -> None:
    """USER is after the last RUN of the final stage and is neither root nor uid 0."""
    assert root_problems(DOCKERFILE.read_text(encoding="utf-8")) == []


def test_agent_container_has_no_later_privilege_escalation() -> None:
    """Nothing after the USER line switches back (no USER root, no sudo/su in CMD)."""
    stage = final_stage(parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8")))
    _, user_ins = effective_user(stage)
    after = [ins for ins in stage if ins.line > user_ins.line]
    for ins in after:
        assert ins.keyword != "USER"
        if ins.keyword in ("CMD", "ENTRYPOINT"):
            assert not re.search(r"\b(sudo|su|gosu|setpriv)\b", ins.args), ins.args
    everything = DOCKERFILE.read_text(encoding="utf-8")
    assert "sudo" not in everything


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("FROM python:3.11-slim\nRUN true\n", "no USER"),
        ("FROM python:3.11-slim\nUSER 10001\nRUN true\n", "RUN after USER"),
        ("FROM python:3.11-slim\nRUN true\nUSER 0:0\n", "uid 0"),
        ("FROM python:3.11-slim\nRUN useradd --uid 0 -o app\nUSER app\n", "named uid 0"),
        ("FROM python:3.11-slim\nRUN true\nUSER root\n", "uid 0"),
        ("FROM python:3.11-slim\nRUN useradd app\nUSER app\n", "named user without explicit uid"),
    ],
)
def test_checker_rejects_root_images(text: str, problem: str) -> None:
    """The same checks flag each way an image can end up running as root."""
    assert root_problems(text) == [problem]


def test_agent_base_image_is_pinned_by_digest() -> None:
    """A tag can be re-pushed; the runtime image must build from a fixed base.

    Every stage uses the same pinned base: the virtualenv built in the first stage
    links to that image's interpreter.
    """
    froms = [i.args for i in parse_dockerfile(DOCKERFILE.read_text()) if i.keyword == "FROM"]
    bases = {args.split()[0] for args in froms}
    assert len(bases) == 1, bases
    [base] = bases
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base), base
