"""Check that every pinned base image's tag still resolves to the pinned digest.

The Dockerfiles pin ``FROM name:tag@sha256:<digest>``. Docker builds from
the digest and ignores the tag, so a wrong digest would build some other
image without a word, and a tag that moved would go unnoticed. The deploy
workflow runs this before anything is built or pushed::

    python3 tools/verify_base_images.py model_container/Dockerfile agent_runtime/Dockerfile

It asks the registry with ``docker buildx imagetools inspect <name:tag>
--format '{{json .Manifest.Digest}}'`` (the digest of the tag's manifest or
index, the value a multi-platform pin holds) and exits non-zero, naming
the file, the image and both digests, on the first mismatch. Standard
library only: it runs before the project's virtual environment exists.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("verify_base_images")

# FROM [--platform=...] name:tag@sha256:<64 hex> [AS stage]
_FROM = re.compile(
    r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<ref>[^\s@]+)@(?P<digest>sha256:[0-9a-f]{64})\b",
    re.IGNORECASE | re.MULTILINE,
)
_UNPINNED_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<ref>\S+)", re.I | re.M)

Inspect = Callable[[str], str]


@dataclass(frozen=True)
class PinnedImage:
    """One ``FROM`` line: where it is, the tag it names and the digest it pins."""

    dockerfile: str
    reference: str
    digest: str


class VerificationError(Exception):
    """A base image is unpinned, or its tag resolves to another digest."""


def pinned_images(dockerfile: Path) -> list[PinnedImage]:
    """Every pinned image of ``dockerfile``, once; a ``FROM`` without a digest is an error.

    ``FROM <earlier stage>`` (a name defined by ``AS``) is allowed unpinned. A build
    stage and the final stage pinning the same image by the same digest are one pin.
    """
    text = dockerfile.read_text()
    stages = {m.lower() for m in re.findall(r"\bAS\s+(\S+)\s*$", text, re.I | re.M)}
    pinned = list(
        dict.fromkeys(
            PinnedImage(str(dockerfile), match.group("ref"), match.group("digest"))
            for match in _FROM.finditer(text)
        )
    )
    pinned_refs = {p.reference for p in pinned}
    for match in _UNPINNED_FROM.finditer(text):
        reference = match.group("ref").split("@", 1)[0]
        if reference not in pinned_refs and reference.lower() not in stages:
            raise VerificationError(f"{dockerfile}: FROM {reference} has no @sha256: digest")
    if not pinned:
        raise VerificationError(f"{dockerfile}: no FROM line with a pinned digest")
    return pinned


def docker_inspect(reference: str) -> str:
    """The registry's digest for ``reference`` via ``docker buildx imagetools inspect``."""
    # A fixed argv (no shell); "docker" from PATH is the point of the check.
    completed = subprocess.run(  # noqa: S603
        [  # noqa: S607
            "docker",
            "buildx",
            "imagetools",
            "inspect",
            reference,
            "--format",
            "{{json .Manifest.Digest}}",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if completed.returncode != 0:
        raise VerificationError(
            f"docker buildx imagetools inspect {reference} failed: {completed.stderr.strip()}"
        )
    return str(json.loads(completed.stdout))


def verify(dockerfiles: Sequence[Path], *, inspect: Inspect = docker_inspect) -> list[PinnedImage]:
    """Raise :class:`VerificationError` unless every pin matches its tag's digest."""
    checked = []
    for dockerfile in dockerfiles:
        for image in pinned_images(dockerfile):
            actual = inspect(image.reference)
            if actual != image.digest:
                raise VerificationError(
                    f"{image.dockerfile}: {image.reference} is pinned to {image.digest} "
                    f"but the registry serves {actual}; confirm the new digest and update the pin"
                )
            logger.info("%s: %s@%s verified", image.dockerfile, image.reference, image.digest)
            checked.append(image)
    return checked


def main(argv: Sequence[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not argv:
        logger.error("usage: verify_base_images.py DOCKERFILE...")
        return 2
    try:
        checked = verify([Path(arg) for arg in argv])
    except VerificationError as error:
        logger.error("base image check failed: %s", error)
        return 1
    logger.info("%d pinned base image(s) verified", len(checked))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
