"""A throwaway PostgreSQL schema per test, on the machine's server (127.0.0.1:5432, db `test`).

Tests of the PostgreSQL paths run against a real server and skip only when none answers.
Each test gets its own schema, named in the connection URL's `search_path`, so tests never
see each other's tables and nothing is left behind. `PROCTOR_TEST_POSTGRES` overrides the
server's URL.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("PROCTOR_TEST_POSTGRES", DEFAULT_SERVER_URL)


def server_answers(url: str | None = None) -> bool:
    """True when something accepts a TCP connection at the server's host and port."""
    parts = urlsplit(url or server_url())
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 1.0):
            return True
    except OSError:
        return False


def with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema(url: str | None = None) -> Iterator[str]:
    """A new empty schema; yields a URL whose connections use it, and drops it afterwards."""
    import psycopg

    base = url or server_url()
    schema = f"proctor_test_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
