"""`proctor demo`: a scripted learner practises a sample scenario against the offline persona.

The learner's lines are spoken word by word (partial transcripts, then the final), so flags
fire mid-sentence; the persona answers from the scenario and the knowledge base; the session
ends with the scorecard and an evidence bundle that is exported and verified.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.practice_cmd import run_practice, script_lines
from policies import pack_path

SCENARIOS = {
    "pharma": "gp_visit.yaml",
    "investment": "client_two_year_horizon.yaml",
    "service": "complaint_escalation.yaml",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="directory for the evidence bundle (new, empty)")
    parser.add_argument("--pack", default="pharma", choices=sorted(SCENARIOS), help="sample pack")
    parser.add_argument("--learner", default="learner-demo-0001", help="pseudonymous learner id")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between spoken words")


def run(args: argparse.Namespace) -> int:
    folder = pack_path(args.pack)
    return run_practice(
        folder / SCENARIOS[args.pack],
        script_lines(folder / "learner_script.txt"),
        learner=args.learner,
        out=args.out,
        spoken=True,
        pace=args.pace,
    )
