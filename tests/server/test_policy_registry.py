"""Drafts are editable; a published version is immutable, enforced by the database.

Every test runs on both service-database backends: a SQLite file and a PostgreSQL schema.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest

from policies import DocumentError
from server.policy_registry import (
    PolicyConflictError,
    PolicyNotFoundError,
    PolicyRegistry,
    StoredPolicy,
)

DRAFT = (
    "policy: demo\nversion: 1\nguardrails:\n"
    "  - id: no-guarantee\n    match: {phrases: [guarantee*]}\n"
)


@pytest.fixture(params=["sqlite", "postgres"])
def service_db(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where the service database lives: a SQLite path, or a URL to a throwaway PG schema."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return tmp_path / "service.sqlite3"


@pytest.fixture
def registry(service_db: str | Path) -> PolicyRegistry:
    return PolicyRegistry.open(service_db)


def test_a_draft_can_be_saved_again_until_it_is_published(registry: PolicyRegistry) -> None:
    first = registry.save_draft(DRAFT, "officer-1")
    second = registry.save_draft(DRAFT.replace("guarantee*", "risk-free"), "officer-1")
    assert first.digest != second.digest and not second.published
    assert registry.get("demo", 1) == second
    published = registry.publish("demo", 1, "officer-2")
    assert published.published and published.digest == second.digest
    assert published.published_by == "officer-2"
    with pytest.raises(PolicyConflictError, match="immutable"):
        registry.save_draft(DRAFT, "officer-1")
    with pytest.raises(PolicyConflictError, match="already published"):
        registry.publish("demo", 1, "officer-1")
    assert registry.by_digest(second.digest) == published
    assert registry.latest_published("demo") == published
    assert registry.get("demo", 1) == published
    assert registry.all() == [published]


def test_latest_published_is_the_highest_published_version(registry: PolicyRegistry) -> None:
    registry.save_draft(DRAFT, "o")
    one = registry.publish("demo", 1, "o")
    registry.save_draft(DRAFT.replace("version: 1", "version: 10"), "o")
    assert registry.latest_published("demo") == one  # a draft is never "latest published"
    ten = registry.publish("demo", 10, "o")
    registry.save_draft(DRAFT.replace("version: 1", "version: 2"), "o")
    registry.publish("demo", 2, "o")
    assert registry.latest_published("demo") == ten  # by number, not by insertion order
    assert [(stored.version, stored.status) for stored in registry.all()] == [
        (1, "published"),
        (2, "published"),
        (10, "published"),
    ]


def test_publishing_a_missing_version_is_not_found(registry: PolicyRegistry) -> None:
    with pytest.raises(PolicyNotFoundError):
        registry.publish("demo", 1, "o")
    with pytest.raises(PolicyNotFoundError):
        registry.get("demo", 1)
    with pytest.raises(PolicyNotFoundError):
        registry.by_digest("0" * 64)


def test_the_database_itself_refuses_to_change_a_published_version(
    service_db: str | Path, registry: PolicyRegistry
) -> None:
    registry.save_draft(DRAFT, "o")
    registry.publish("demo", 1, "o")
    if isinstance(service_db, Path):
        raw = sqlite3.connect(service_db)
        with pytest.raises(sqlite3.IntegrityError, match="immutable"):
            raw.execute("UPDATE policies SET source = 'x'")
        with pytest.raises(sqlite3.IntegrityError, match="kept forever"):
            raw.execute("DELETE FROM policies")
        raw.close()
    else:
        with psycopg.connect(service_db, autocommit=True) as connection:
            with pytest.raises(psycopg.errors.IntegrityError, match="immutable"):
                connection.execute("UPDATE policies SET source = 'x'")
            with pytest.raises(psycopg.errors.IntegrityError, match="immutable"):
                connection.execute("UPDATE policies SET status = 'draft'")
            with pytest.raises(psycopg.errors.IntegrityError, match="kept forever"):
                connection.execute("DELETE FROM policies")
            with pytest.raises(psycopg.errors.IntegrityError, match="kept forever"):
                connection.execute("TRUNCATE policies")
    stored = registry.get("demo", 1)
    assert stored.published and stored.source == DRAFT


def test_postgres_refuses_raw_changes_to_published_rows_but_not_to_drafts(
    postgres_url: str,
) -> None:
    registry = PolicyRegistry.open(postgres_url)
    registry.save_draft(DRAFT, "o")
    registry.publish("demo", 1, "o")
    registry.save_draft(DRAFT.replace("version: 1", "version: 2"), "o")
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        with pytest.raises(psycopg.errors.IntegrityError, match="immutable"):
            connection.execute("UPDATE policies SET author = 'mallory' WHERE version = 1")
        with pytest.raises(psycopg.errors.IntegrityError, match="kept forever"):
            connection.execute("DELETE FROM policies WHERE version = 1")
        # A statement touching a published row fails as a whole: the draft is not changed either.
        with pytest.raises(psycopg.errors.IntegrityError):
            connection.execute("UPDATE policies SET author = 'mallory'")
        assert connection.execute("SELECT DISTINCT author FROM policies").fetchall() == [("o",)]
        updated = connection.execute("UPDATE policies SET author = 'eve' WHERE version = 2")
        assert updated.rowcount == 1
        deleted = connection.execute("DELETE FROM policies WHERE version = 2")
        assert deleted.rowcount == 1
        rows = connection.execute("SELECT version, status, author FROM policies").fetchall()
    assert rows == [(1, "published", "o")]
    registry.close()


def test_reopening_keeps_versions_and_the_rules(service_db: str | Path) -> None:
    first = PolicyRegistry.open(service_db)
    first.save_draft(DRAFT, "o")
    published = first.publish("demo", 1, "o")
    first.close()
    again = PolicyRegistry.open(service_db)
    assert again.get("demo", 1) == published
    with pytest.raises(PolicyConflictError, match="immutable"):
        again.save_draft(DRAFT, "o")
    again.close()


def test_two_registries_on_one_database_see_each_others_publications(
    service_db: str | Path,
) -> None:
    """Two service processes: one publishes, the other may no longer overwrite or republish."""
    first, second = PolicyRegistry.open(service_db), PolicyRegistry.open(service_db)
    draft = first.save_draft(DRAFT, "o")
    published = second.publish("demo", 1, "o2")
    assert published.digest == draft.digest
    with pytest.raises(PolicyConflictError, match="immutable"):
        first.save_draft(DRAFT.replace("guarantee*", "risk-free"), "o")
    with pytest.raises(PolicyConflictError, match="already published"):
        first.publish("demo", 1, "o")
    assert first.get("demo", 1) == published
    first.close()
    second.close()


def test_a_stale_read_cannot_overwrite_a_published_version(
    registry: PolicyRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If another process publishes between the check and the write, the write changes nothing
    and is the same conflict (the upsert only updates drafts)."""
    registry.save_draft(DRAFT, "o")
    published = registry.publish("demo", 1, "o")
    real_row = registry._row

    def stale(policy_id: str, version: int) -> StoredPolicy | None:
        monkeypatch.setattr(registry, "_row", real_row)  # only the first read is stale
        return None

    monkeypatch.setattr(registry, "_row", stale)
    with pytest.raises(PolicyConflictError, match="immutable"):
        registry.save_draft(DRAFT.replace("guarantee*", "risk-free"), "o")
    assert registry.get("demo", 1) == published


def test_concurrent_publishes_of_one_draft_succeed_once(service_db: str | Path) -> None:
    PolicyRegistry.open(service_db).save_draft(DRAFT, "o")
    registries = [PolicyRegistry.open(service_db) for _ in range(6)]
    barrier = threading.Barrier(len(registries))
    outcomes: list[str] = []

    def publish(registry: PolicyRegistry, officer: str) -> None:
        barrier.wait()
        try:
            registry.publish("demo", 1, officer)
            outcomes.append("published")
        except PolicyConflictError:
            outcomes.append("conflict")

    threads = [
        threading.Thread(target=publish, args=(registry, f"officer-{index}"))
        for index, registry in enumerate(registries)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["published"]
    for registry in registries:
        registry.close()


def test_invalid_drafts_are_refused_with_located_errors(registry: PolicyRegistry) -> None:
    with pytest.raises(DocumentError) as raised:
        registry.save_draft(DRAFT.replace("version: 1", "version: one"), "o")
    assert "policy.yaml:2" in str(raised.value) and "version" in str(raised.value)
    assert registry.all() == []
    with pytest.raises(PolicyNotFoundError):
        registry.latest_published("demo")


def test_versions_up_to_what_routes_accept_are_stored(registry: PolicyRegistry) -> None:
    """Routes take versions up to 2**31, one past a 32-bit INTEGER; a version beyond 64 bits
    names nothing stored, so it is not found rather than a database error."""
    big = registry.save_draft(DRAFT.replace("version: 1", f"version: {2**31}"), "o")
    assert big.version == 2**31
    assert registry.publish("demo", 2**31, "o").published
    assert registry.get("demo", 2**31) == registry.latest_published("demo")
    with pytest.raises(PolicyNotFoundError):
        registry.get("demo", 2**70)
    assert [stored.version for stored in registry.all()] == [2**31]


def test_lookups_with_values_the_database_cannot_hold_are_not_found(
    registry: PolicyRegistry,
) -> None:
    """Path parameters reach these methods; NUL is not PostgreSQL text, and must be a 404."""
    registry.save_draft(DRAFT, "o")
    with pytest.raises(PolicyNotFoundError):
        registry.get("demo\x00", 1)
    with pytest.raises(PolicyNotFoundError):
        registry.publish("demo\x00", 1, "o")
    with pytest.raises(PolicyNotFoundError):
        registry.latest_published("\x00")
    with pytest.raises(PolicyNotFoundError):
        registry.by_digest("\x00" * 64)
    assert not registry.get("demo", 1).published
