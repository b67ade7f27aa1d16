"""`open_record_store`: the location's scheme picks the backend; unknown schemes are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from audit import PostgresRecordStore, SQLiteRecordStore, StoreError, open_record_store


def test_paths_open_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_record_store(tmp_path / "a.db") as store:
        assert isinstance(store, SQLiteRecordStore)
        assert store.path == tmp_path / "a.db"
    with open_record_store(str(tmp_path / "b.db")) as store:
        assert isinstance(store, SQLiteRecordStore)
        assert store.path == tmp_path / "b.db"
    monkeypatch.chdir(tmp_path)
    with open_record_store("relative.db") as store:
        assert isinstance(store, SQLiteRecordStore)
    assert (tmp_path / "relative.db").is_file()


def test_sqlite_urls_name_a_local_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_record_store(f"sqlite://{tmp_path}/with%20space.db") as store:
        assert isinstance(store, SQLiteRecordStore)
        assert store.path == tmp_path / "with space.db"
    monkeypatch.chdir(tmp_path)
    with open_record_store("SQLITE:rel.db") as store:
        assert store.path == Path("rel.db")  # type: ignore[union-attr]
    assert (tmp_path / "rel.db").is_file()


@pytest.mark.parametrize(
    "url", ["sqlite://host/x.db", "sqlite:///x.db?mode=ro", "sqlite:///x.db#f", "sqlite://"]
)
def test_sqlite_urls_with_more_than_a_path_are_refused(url: str) -> None:
    with pytest.raises(StoreError, match="sqlite"):
        open_record_store(url)


def test_read_only_is_passed_on(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        open_record_store(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize(
    "location", ["mysql://u:pw@host/db", "postgresql+psycopg://host/db", "file:///tmp/a.db"]
)
def test_unknown_schemes_are_refused_by_name(location: str) -> None:
    scheme = location.split(":", 1)[0]
    with pytest.raises(
        StoreError, match=re.escape(f"unknown audit store scheme '{scheme}'")
    ) as refused:
        open_record_store(location)
    assert "pw" not in str(refused.value)


def test_postgres_urls_open_postgres(postgres_url: str) -> None:
    with open_record_store(postgres_url) as store:
        assert isinstance(store, PostgresRecordStore)
        assert store.head() == 0
    short = postgres_url.replace("postgresql://", "postgres://", 1)
    with open_record_store(short, read_only=True) as store:
        assert isinstance(store, PostgresRecordStore)
        assert store.read_only
