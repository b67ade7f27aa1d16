"""The loaders' one failure: this file cannot be turned into text, and why."""

from __future__ import annotations


class UnreadableDocument(Exception):
    """Raised by a loader; ingestion reports `reason` next to the file name and moves on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
