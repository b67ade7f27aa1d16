"""Published policies are parsed and compiled once per process, not once per session."""

from __future__ import annotations

from policies import Policy, parse_policy
from server.live import PlanCache
from tests.server.test_sessions import POLICY


class Counter:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.parsed = 0
        self.embedders = 0

    def parse(self) -> Policy:
        self.parsed += 1
        return self.policy

    def embedder(self) -> object:
        self.embedders += 1
        raise AssertionError("a policy without semantic matches needs no embedder")


def test_a_digest_is_compiled_once_and_semantic_free_policies_load_no_model() -> None:
    policy = parse_policy(POLICY)
    counter = Counter(policy)
    cache = PlanCache()
    first = cache.plan("d" * 64, counter.parse, counter.embedder)  # type: ignore[arg-type]
    again = cache.plan("d" * 64, counter.parse, counter.embedder)  # type: ignore[arg-type]
    other = cache.plan("e" * 64, counter.parse, counter.embedder)  # type: ignore[arg-type]
    assert first is again and other is not first
    assert first.policy == policy
    assert counter.parsed == 2 and counter.embedders == 0
