"""Repository-wide pytest setup.

* Puts the repository root on ``sys.path`` so tests import ``stacks`` and
  ``tests.support`` the same way ``app.py`` does (pytest itself only adds
  the test folders).
* ``--snapshot-update``: rewrite the CDK template snapshots under
  ``tests/snapshots/`` instead of comparing against them (``make
  snapshot-update``); review the diff before committing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--snapshot-update",
        action="store_true",
        default=False,
        help="rewrite tests/snapshots/ from the current synthesized templates",
    )


@pytest.fixture(scope="session")
def snapshot_update(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite snapshots (``--snapshot-update``)."""
    return bool(request.config.getoption("--snapshot-update"))
