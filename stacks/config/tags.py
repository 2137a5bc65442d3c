"""``tags``: the tags on every resource (cost allocation and ownership)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import require
from .names import PROJECT


@dataclass(frozen=True, kw_only=True)
class TagSettings:
    """Tags on every resource (cost allocation and ownership)."""

    project: str = PROJECT
    cost_center: str = "ml-platform"

    def validate(self) -> None:
        for key, value in (("tags.project", self.project), ("tags.cost_center", self.cost_center)):
            require(
                re.fullmatch(r"[\w .:/=+@-]{1,256}", value) is not None,
                key,
                value,
                "1-256 characters of letters, digits, spaces and _.:/=+-@",
            )
