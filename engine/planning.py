"""Compile a policy with what its rules need: the sentence embedder for semantic matches.

The embedder is the knowledge base's MiniLM, so an utterance embedded for a semantic rule is
already cached when the same text is searched in the knowledge base. It is loaded only for a
policy that has semantic matches: lexical-only policies start in milliseconds.
"""

from __future__ import annotations

from evaluators.plan import PolicyPlan, compile_policy, matchers_of
from evaluators.semantic import SentenceEmbedder
from policies.models import Policy


def uses_semantic_matching(policy: Policy) -> bool:
    return any(matcher.match.semantic is not None for matcher in matchers_of(policy))


def plan_policy(policy: Policy, embedder: SentenceEmbedder | None = None) -> PolicyPlan:
    """The plan for `policy`, with MiniLM (offline) serving semantic matches by default."""
    if embedder is None and uses_semantic_matching(policy):
        from knowledge_base import default_embedder

        embedder = default_embedder()
    return compile_policy(policy, embedder)
