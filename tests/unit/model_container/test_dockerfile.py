"""The model container's Dockerfile: lint-clean, pinned, offline-capable, SageMaker-shaped.

No Docker engine runs here, so the file is checked as text plus hadolint;
the entrypoint it names is tested in ``test_serve.py``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.dockerfile import parse_dockerfile

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "model_container" / "Dockerfile"
HADOLINT = REPO / ".venv" / "bin" / "hadolint"
# SHA-256 of OpenAI's published vocabularies (tiktoken_ext/openai_public.py).
TIKTOKEN_SHA256 = {
    "o200k_base.tiktoken": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base.tiktoken": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined, comments dropped."""
    return [(i.keyword, " ".join(i.args.split())) for i in parse_dockerfile(DOCKERFILE.read_text())]


def test_hadolint_is_clean() -> None:
    if not HADOLINT.exists():
        pytest.fail(f"{HADOLINT} missing: run `make setup`")
    done = subprocess.run(
        [str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_base_is_a_pinned_vllm_release_with_the_gpt_oss_fixes() -> None:
    [base] = [args for keyword, args in instructions() if keyword == "FROM"]
    match = re.fullmatch(
        r"vllm/vllm-openai:v(\d+)\.(\d+)\.(\d+)(-cu\d+)?(@sha256:[0-9a-f]{64})?", base
    )
    assert match, f"FROM must be a vllm/vllm-openai release tag, got {base!r}"
    assert (int(match[1]), int(match[2])) >= (0, 13)
    # A tag can be re-pushed; the digest makes the base reproducible.
    assert match[5], f"FROM must pin the digest (tag@sha256:...), got {base!r}"
    # ... and the file says how to re-check it when the tag changes.
    assert "docker buildx imagetools inspect" in DOCKERFILE.read_text()


def test_tiktoken_files_are_baked_in_with_checksums_where_the_env_points() -> None:
    pairs = instructions()
    env = " ".join(args for keyword, args in pairs if keyword == "ENV")
    base = re.search(r"TIKTOKEN_ENCODINGS_BASE=(\S+)", env)
    assert base, "ENV TIKTOKEN_ENCODINGS_BASE is not set"
    adds = [args for keyword, args in pairs if keyword == "ADD"]
    for name, digest in TIKTOKEN_SHA256.items():
        [add] = [a for a in adds if a.endswith(f"/{name}")]
        assert f"--checksum=sha256:{digest}" in add
        assert f"https://openaipublic.blob.core.windows.net/encodings/{name}" in add
        assert add.split()[-1] == f"{base[1]}/{name}"


def test_entrypoint_is_serve_py_on_port_8080() -> None:
    pairs = dict(instructions())
    assert pairs["EXPOSE"] == "8080"
    assert pairs["ENTRYPOINT"] == '["python3", "/opt/program/serve.py"]'
    assert pairs["CMD"] == '["serve"]'
    copies = [args for keyword, args in instructions() if keyword == "COPY"]
    assert any(c.endswith("serve.py /opt/program/serve.py") for c in copies)
