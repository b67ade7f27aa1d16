"""A real `proctor serve` on 127.0.0.1 and a headless Debian Chromium driven by Playwright.

The server runs in its own process on a fresh home with the pharma pack's policy published
and a learner's key; the browser is `/usr/bin/chromium`, never a downloaded one. Without
either (a machine that has not run `make test`'s install), these tests skip and say why."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from policies import pack_path
from server.auth import ApiKeyStore, Role
from server.config import ServerConfig
from server.policy_registry import PolicyRegistry
from server.teams import TeamDirectory

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass(frozen=True)
class Served:
    url: str
    keys: dict[str, str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _prepared_home(root: Path) -> dict[str, str]:
    config = ServerConfig(root).ensure()
    registry = PolicyRegistry(config.service_db)
    source = (pack_path("pharma") / "policy.yaml").read_text(encoding="utf-8")
    draft = registry.save_draft(source, "officer-1")
    registry.publish(draft.policy_id, draft.version, "officer-1")
    registry.close()
    store = ApiKeyStore(config.service_db)
    keys = {role.value: store.create(role, f"{role.value}-1")[1] for role in Role}
    store.close()
    teams = TeamDirectory(config.service_db)
    teams.assign("learner-1", "north")
    teams.close()
    return keys


@pytest.fixture(scope="package")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("e2e") / "home"
    keys = _prepared_home(root)
    port = _free_port()
    proctor = Path(sys.executable).with_name("proctor")
    server = subprocess.Popen(
        [str(proctor), "serve", "--port", str(port)],
        env={**os.environ, "PROCTOR_HOME": str(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("proctor serve did not answer /v1/health within 60 s")
            time.sleep(0.2)
        yield Served(url, keys)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Chromium for this package's tests only: Playwright's sync API runs an event loop on
    the main thread until it is stopped, and tests after these call `asyncio.run`."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """A fresh tab; its screenshot is saved in the test's output folder when the test ends."""
    context = browser.new_context()
    tab = context.new_page()
    try:
        yield tab
    finally:
        tab.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        context.close()
