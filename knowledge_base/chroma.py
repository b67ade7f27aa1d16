"""Connecting to Chroma: embedded on disk by default, a shared server when a URL is given.

Telemetry is switched off in code (`anonymized_telemetry=False`) on every client: Proctor
sends nothing anywhere unless a user configures it, and an environment variable is too easy
to forget on one replica.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from knowledge_base.errors import KnowledgeBaseError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.config import Settings

CHROMA_FOLDER = "chroma"


def client_settings() -> Settings:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def parse_chroma_url(url: str) -> tuple[str, int, bool]:
    """("host", port, ssl) from "http://host:port"; the port defaults to 8000 as in Chroma."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise KnowledgeBaseError(
            f"invalid Chroma URL {url!r}: expected http://HOST:PORT, e.g. http://127.0.0.1:8000"
        )
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise KnowledgeBaseError(f"invalid Chroma URL {url!r}: give only scheme, host and port")
    try:
        port = parts.port or 8000
    except ValueError:
        raise KnowledgeBaseError(f"invalid Chroma URL {url!r}: bad port") from None
    return parts.hostname, port, parts.scheme == "https"


def connect(root: Path, chroma_url: str | None = None) -> ClientAPI:
    """A Chroma client: `PersistentClient(root/"chroma")`, or `HttpClient` for `chroma_url`."""
    import chromadb

    if chroma_url is not None:
        host, port, ssl = parse_chroma_url(chroma_url)
        try:
            return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=client_settings())
        except Exception as error:
            raise KnowledgeBaseError(
                f"cannot reach the Chroma server at {chroma_url}: {error}"
            ) from None
    path = root / CHROMA_FOLDER
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=client_settings())
    except Exception as error:
        raise KnowledgeBaseError(f"cannot open the knowledge-base store {path}: {error}") from None
