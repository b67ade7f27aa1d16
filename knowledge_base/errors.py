"""The one exception the knowledge-base package shows to users.

The CLI and the server turn it into a clear message (exit 2, HTTP 4xx) without a traceback,
so it is raised only for things the user can fix: a bad name, a knowledge base that does not
exist yet, a source folder that cannot be read, a Chroma server that cannot be reached.
"""

from __future__ import annotations


class KnowledgeBaseError(Exception):
    """A user-facing knowledge-base failure; the message says what to do about it."""
