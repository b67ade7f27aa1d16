"""`proctor evaluate`: the offline batch path over a recorded transcript."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cli.home import ProctorHome
from cli.knowledge import open_knowledge
from engine import CheckFailed, FlagRaised, ObjectiveProgress, Session, SessionEnded
from engine.planning import plan_policy
from engine.replay import replay_inputs
from engine.session import Knowledge
from engine.transcripts import TranscriptError, load_transcript
from evaluators import PolicyPlan
from policies import DocumentError, load_policy

EXIT_INVALID = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", type=Path, required=True, help="policy YAML")
    parser.add_argument("--transcript", type=Path, required=True, help="JSONL or `speaker: text`")
    parser.add_argument("--learner-speaker", default="learner", help="speaker name of the learner")
    parser.add_argument("--out", type=Path, help="write JSON here instead of standard output")


def _knowledge_for(plan: PolicyPlan) -> tuple[Knowledge | None, list[str]]:
    """The policy's knowledge base when grounding rules need one; otherwise say which rules
    could not be evaluated, rather than passing them silently."""
    rules = list(plan.knowledge_rules())
    if not rules:
        return None, []
    name = plan.policy.knowledge_base
    if name is not None:
        home = ProctorHome.from_environment().ensure()
        knowledge = open_knowledge(home, name)
        if len(knowledge) > 0:
            return knowledge, []
    reason = (
        f"knowledge base {name!r} is empty or missing (run `proctor kb ingest DIR --name {name}`)"
        if name
        else "the policy names no knowledge_base"
    )
    return None, [
        f"{rule.id}: not evaluated, {reason}" for rule in rules if rule in plan.grounding_rules
    ] + [
        f"{rule.id}: knowledge-base exception not checkable, {reason}; matches are flagged"
        for rule in rules
        if rule not in plan.grounding_rules
    ]


def evaluate_transcript(policy_path: Path, transcript_path: Path, learner: str) -> dict[str, Any]:
    policy = load_policy(policy_path)
    lines = load_transcript(transcript_path, learner)
    plan = plan_policy(policy)
    knowledge, not_evaluated = _knowledge_for(plan)
    session = Session(plan, learner="batch", knowledge=knowledge)
    events = session.start()
    for _, utterance in replay_inputs(lines, with_partials=False):
        events += session.ingest(utterance)
        if session.state.value != "active":
            break
    if session.state.value == "active":
        events += session.end()
    assert session.scorecard is not None
    return {
        "policy": session.policy_version.model_dump(mode="json"),
        "transcript": str(transcript_path),
        "findings": [
            e.finding.model_dump(mode="json") for e in events if isinstance(e, FlagRaised)
        ],
        "disclosures": [
            e.evidence.model_dump(mode="json")
            for e in events
            if isinstance(e, ObjectiveProgress) and e.evidence is not None and e.required is None
        ],
        "objectives": {
            e.objective_id: e.model_dump(mode="json", exclude={"session_id", "at", "type"})
            for e in events
            if isinstance(e, ObjectiveProgress) and e.required is not None
        },
        "checks_failed": [
            e.model_dump(mode="json", exclude={"session_id", "at", "type"})
            for e in events
            if isinstance(e, CheckFailed)
        ],
        "ended_by_policy": any(
            isinstance(e, SessionEnded) and e.reason == "ended_by_policy" for e in events
        ),
        "not_evaluated": not_evaluated,
        "score": session.scorecard.model_dump(mode="json"),
    }


def run(args: argparse.Namespace) -> int:
    try:
        result = evaluate_transcript(args.policy, args.transcript, args.learner_speaker)
    except DocumentError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except TranscriptError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    for note in result["not_evaluated"]:
        print(f"warning: {note}", file=sys.stderr)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"{args.out}: {len(result['findings'])} findings, score {result['score']['score']}")
    else:
        print(text)
    return 0
