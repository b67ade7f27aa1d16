"""Sample scenarios parsed once per process, not once per session.

Starting a scenario session read and validated the scenario's YAML and its policy's YAML
three times over: with 200 learners starting at once that was a third of the server's
Python time, and sessions waited 24 s at p50 to start. A scenario is reused while neither
of its two files has changed (same size and modification time).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from engine.scenarios import Scenario, load_scenario
from policies import load_policy

_Stamp = tuple[int, int]


def _stamp(path: Path) -> _Stamp:
    status = path.stat()
    return status.st_mtime_ns, status.st_size


@dataclass(frozen=True, slots=True)
class LoadedScenario:
    """A validated scenario and the id of the policy it practises."""

    scenario: Scenario
    policy_id: str


@dataclass(frozen=True, slots=True)
class _Entry:
    loaded: LoadedScenario
    policy_path: Path
    stamps: tuple[_Stamp, _Stamp]


class ScenarioCache:
    def __init__(self) -> None:
        self._entries: dict[Path, _Entry] = {}
        self._lock = threading.Lock()

    def load(self, path: Path) -> LoadedScenario:
        """The scenario at `path`; raises `DocumentError` (file, line, field) as
        `load_scenario` does, and `OSError` if a file cannot be read."""
        with self._lock:
            entry = self._entries.get(path)
        if entry is not None and entry.stamps == (_stamp(path), _stamp(entry.policy_path)):
            return entry.loaded
        stamps_before = _stamp(path)
        scenario = load_scenario(path)
        policy_path = path.parent / scenario.policy
        policy_stamp = _stamp(policy_path)
        loaded = LoadedScenario(scenario, load_policy(policy_path).policy)
        with self._lock:
            self._entries[path] = _Entry(loaded, policy_path, (stamps_before, policy_stamp))
        return loaded
