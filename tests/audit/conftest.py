"""Shared fixtures for the audit tests: keys, stores, events and a ready-made bundle."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from audit import AuditLog, SigningKey, SQLiteRecordStore, export_bundle, open_record_store
from tests.audit.helpers import AnyStore, StepClock, fill


@pytest.fixture(scope="session")
def key() -> SigningKey:
    return SigningKey.generate()


@dataclass
class StoreFactory:
    """Opens stores on one location of one backend; the fixture closes them all afterwards.

    Tests that need a second handle on the same log (reopen, read-only reader, two writers)
    call it again instead of knowing whether the location is a file or a database.
    """

    backend: str  # "sqlite" or "postgres"
    location: str | Path
    opened: list[AnyStore] = field(default_factory=list)

    def __call__(self, *, read_only: bool = False) -> AnyStore:
        store = open_record_store(self.location, read_only=read_only)
        self.opened.append(store)
        return store


@pytest.fixture(params=["sqlite", "postgres"])
def record_store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Every test using it (or `store`, `log`) runs against SQLite and PostgreSQL; the
    PostgreSQL run gets its own schema and skips when no server answers."""
    backend: str = request.param
    location: str | Path
    if backend == "postgres":
        location = request.getfixturevalue("postgres_url")
    else:
        location = tmp_path / "audit.db"
    factory = StoreFactory(backend, location)
    yield factory
    for opened in factory.opened:
        opened.close()


@pytest.fixture
def store(record_store_factory: StoreFactory) -> AnyStore:
    return record_store_factory()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteRecordStore]:
    """For tests of SQLite's own mechanics (raw sqlite3 connections, pragmas, file modes)."""
    with SQLiteRecordStore(tmp_path / "audit.db") as opened:
        yield opened


@pytest.fixture
def sqlite_log(sqlite_store: SQLiteRecordStore, key: SigningKey) -> AuditLog:
    return AuditLog(sqlite_store, key, clock=StepClock())


@pytest.fixture
def log(store: AnyStore, key: SigningKey) -> AuditLog:
    return AuditLog(store, key, clock=StepClock())


@pytest.fixture(scope="session")
def pristine_bundle(tmp_path_factory: pytest.TempPathFactory, key: SigningKey) -> Path:
    """One exported bundle (24 records, 3 sessions) that tests copy before mutating."""
    base = tmp_path_factory.mktemp("pristine")
    with SQLiteRecordStore(base / "audit.db") as store:
        fill(AuditLog(store, key, clock=StepClock()))
        export_bundle(store, key, base / "bundle", "proctor.test/log")
    return base / "bundle"


@pytest.fixture(scope="session")
def bundle_copy(
    tmp_path_factory: pytest.TempPathFactory, pristine_bundle: Path
) -> Callable[[], Path]:
    """Return a function giving a fresh copy of the pristine bundle (usable inside @given)."""
    base = tmp_path_factory.mktemp("copies")

    def copy() -> Path:
        target = Path(tempfile.mkdtemp(dir=base)) / "bundle"
        shutil.copytree(pristine_bundle, target)
        return target

    return copy
