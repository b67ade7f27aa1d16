"""Drafts are editable; a published version is immutable, enforced by the database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from policies import DocumentError
from server.policy_registry import PolicyConflictError, PolicyNotFoundError, PolicyRegistry

DRAFT = (
    "policy: demo\nversion: 1\nguardrails:\n"
    "  - id: no-guarantee\n    match: {phrases: [guarantee*]}\n"
)


@pytest.fixture
def registry(tmp_path: Path) -> PolicyRegistry:
    return PolicyRegistry(tmp_path / "service.sqlite3")


def test_a_draft_can_be_saved_again_until_it_is_published(registry: PolicyRegistry) -> None:
    first = registry.save_draft(DRAFT, "officer-1")
    second = registry.save_draft(DRAFT.replace("guarantee*", "risk-free"), "officer-1")
    assert first.digest != second.digest and not second.published
    published = registry.publish("demo", 1, "officer-2")
    assert published.published and published.digest == second.digest
    assert published.published_by == "officer-2"
    with pytest.raises(PolicyConflictError, match="immutable"):
        registry.save_draft(DRAFT, "officer-1")
    with pytest.raises(PolicyConflictError, match="already published"):
        registry.publish("demo", 1, "officer-1")
    assert registry.by_digest(second.digest) == published
    assert registry.latest_published("demo") == published


def test_the_database_itself_refuses_to_change_a_published_version(
    registry: PolicyRegistry, tmp_path: Path
) -> None:
    registry.save_draft(DRAFT, "o")
    registry.publish("demo", 1, "o")
    raw = sqlite3.connect(tmp_path / "service.sqlite3")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        raw.execute("UPDATE policies SET source = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="kept forever"):
        raw.execute("DELETE FROM policies")


def test_invalid_drafts_are_refused_with_located_errors(registry: PolicyRegistry) -> None:
    with pytest.raises(DocumentError) as raised:
        registry.save_draft(DRAFT.replace("version: 1", "version: one"), "o")
    assert "policy.yaml:2" in str(raised.value) and "version" in str(raised.value)
    assert registry.all() == []
    with pytest.raises(PolicyNotFoundError):
        registry.latest_published("demo")
