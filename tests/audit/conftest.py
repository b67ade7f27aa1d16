"""Shared fixtures for the audit tests: keys, stores, events and a ready-made bundle."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from audit import AuditLog, SigningKey, SQLiteRecordStore, export_bundle
from tests.audit.helpers import StepClock, fill


@pytest.fixture(scope="session")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteRecordStore]:
    with SQLiteRecordStore(tmp_path / "audit.db") as opened:
        yield opened


@pytest.fixture
def log(store: SQLiteRecordStore, key: SigningKey) -> AuditLog:
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
