"""Which files an ingest reads, and under which document name.

A document is named by its path relative to the ingested folder (posix separators), so the
same folder ingested from another machine or checkout yields the same document ids. Hidden
files and folders (".git", ".DS_Store") are not documents and are passed over silently; a
sub-folder that cannot be read is reported like a bad file, while an unreadable source itself is
an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from knowledge_base.errors import KnowledgeBaseError


@dataclass(frozen=True)
class SkippedFile:
    """A file (or folder) that was not ingested, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class SourceFile:
    path: Path
    document: str


def discover(source: Path) -> tuple[list[SourceFile], list[SkippedFile]]:
    """Every candidate file under `source` (or `source` itself), sorted by document name."""
    if source.is_file():
        return [SourceFile(source, source.name)], []
    if not source.exists():
        raise KnowledgeBaseError(f"{source}: no such file or directory")
    if not source.is_dir():
        raise KnowledgeBaseError(f"{source}: not a regular file or directory")
    if not os.access(source, os.R_OK | os.X_OK):
        raise KnowledgeBaseError(f"{source}: permission denied")
    files: list[SourceFile] = []
    skipped: list[SkippedFile] = []

    def unreadable(error: OSError) -> None:
        folder = _relative(Path(error.filename or source), source)
        skipped.append(SkippedFile(folder, f"cannot read folder: {error.strerror}"))

    for folder, subfolders, names in os.walk(source, onerror=unreadable):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in names:
            path = Path(folder) / name
            if not name.startswith(".") and not path.is_dir():
                files.append(SourceFile(path, _relative(path, source)))
    return sorted(files, key=lambda file: file.document), skipped


def _relative(path: Path, source: Path) -> str:
    return path.relative_to(source).as_posix()
