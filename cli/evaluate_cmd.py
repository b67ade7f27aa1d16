"""`proctor evaluate`: the offline batch path over a recorded transcript."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine import FlagRaised, ObjectiveProgress, Session
from engine.replay import replay_inputs
from engine.transcripts import TranscriptError, load_transcript
from evaluators import compile_policy
from policies import DocumentError, load_policy

EXIT_INVALID = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", type=Path, required=True, help="policy YAML")
    parser.add_argument("--transcript", type=Path, required=True, help="JSONL or `speaker: text`")
    parser.add_argument("--learner-speaker", default="learner", help="speaker name of the learner")
    parser.add_argument("--out", type=Path, help="write JSON here instead of standard output")


def evaluate_transcript(policy_path: Path, transcript_path: Path, learner: str) -> dict[str, Any]:
    policy = load_policy(policy_path)
    lines = load_transcript(transcript_path, learner)
    session = Session(compile_policy(policy), learner="batch")
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
            if isinstance(e, ObjectiveProgress) and e.evidence is not None
        ],
        "ended_by_policy": session.findings
        and any(getattr(e, "reason", None) == "ended_by_policy" for e in events),
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
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"{args.out}: {len(result['findings'])} findings, score {result['score']['score']}")
    else:
        print(text)
    return 0
