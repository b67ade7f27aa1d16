"""Knowledge-base names: one rule, checked before anything touches the store.

The name becomes the Chroma collection name, a folder name and part of audit records, so it
is restricted to what is safe in all three: lower-case letters, digits and '-', 3 to 63
characters, starting and ending with a letter or digit (a Chroma requirement).
"""

from __future__ import annotations

import re

from knowledge_base.errors import KnowledgeBaseError

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")


def validate_name(name: str) -> str:
    """Return `name` unchanged if valid; otherwise raise a KnowledgeBaseError that says why."""
    if _NAME.fullmatch(name):
        return name
    raise KnowledgeBaseError(
        f"invalid knowledge-base name {name!r}: use 3-63 lower-case letters, digits and '-', "
        "starting and ending with a letter or digit (e.g. 'velmora-label')"
    )
