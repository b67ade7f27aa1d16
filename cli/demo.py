"""`proctor demo`: a sample role-play through the live loop, ending in a verified bundle."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from audit import AuditLog, SigningKey, SQLiteRecordStore, export_bundle, verify_bundle
from cli.home import ProctorHome
from cli.render import (
    coaching_line,
    escalation_line,
    flag_line,
    retraction_line,
    scorecard_lines,
)
from engine import (
    CoachingHint,
    EscalationTriggered,
    FlagRaised,
    FlagRetracted,
    PartialUtterance,
    Session,
    SessionEvent,
)
from engine.recording import AuditRecorder
from engine.replay import replay_inputs
from engine.transcripts import load_transcript
from evaluators import compile_policy
from policies import Speaker, load_policy, pack_path

AUDIT_ORIGIN = "proctor.local/audit"


class CountingNotifier:
    """Stands in for the firm's escalation channels: counts what each channel received."""

    def __init__(self) -> None:
        self.received: dict[str, int] = {}

    def notify(self, escalation: EscalationTriggered) -> None:
        for channel in escalation.channels:
            self.received[channel] = self.received.get(channel, 0) + 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="directory for the evidence bundle (new, empty)")
    parser.add_argument("--pack", default="pharma", help="sample pack: pharma or investment")
    parser.add_argument("--transcript", type=Path, help="transcript to replay (default: pack's)")
    parser.add_argument("--learner", default="learner-demo-0001", help="pseudonymous learner id")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between spoken words")


def _print_event(event: SessionEvent) -> None:
    if isinstance(event, FlagRaised):
        print(flag_line(event))
    elif isinstance(event, FlagRetracted):
        print(retraction_line(event))
    elif isinstance(event, CoachingHint):
        print(coaching_line(event))
    elif isinstance(event, EscalationTriggered):
        print(escalation_line(event))


def run(args: argparse.Namespace) -> int:
    home = ProctorHome.from_environment().ensure()
    pack = pack_path(args.pack)
    policy = load_policy(pack / "policy.yaml")
    transcript = args.transcript or pack / "transcripts" / "non_compliant.txt"
    lines = load_transcript(transcript)
    key = SigningKey.load_or_create(home.signing_key)
    store = SQLiteRecordStore(home.audit_db)
    notifier = CountingNotifier()
    session = Session(
        compile_policy(policy),
        learner=args.learner,
        recorder=AuditRecorder(AuditLog(store, key)),
        notifier=notifier,
        scenario=f"{args.pack}:{transcript.name}",
    )
    digest = session.plan.digest[:12]
    print(f"Proctor demo — policy {policy.policy} v{policy.version} (digest {digest}…)")
    print(f"Home: {home.root}    Session: {session.session_id}\n")
    session.start()
    for line, utterance in replay_inputs(lines):
        if utterance.speaker is Speaker.persona or (
            isinstance(utterance, PartialUtterance) and utterance.revision == 0
        ):
            print(f"{line.name}: {line.text}")
        elif args.pace:
            time.sleep(args.pace)
        for event in session.ingest(utterance):
            _print_event(event)
        if session.state.value != "active":
            print("\nSession ended by policy escalation.")
            break
    if session.state.value == "active":
        for event in session.end():
            _print_event(event)
    assert session.scorecard is not None
    sent = ", ".join(f"{channel} x{count}" for channel, count in notifier.received.items())
    print(f"\nEscalations delivered: {sent or 'none'}")
    print()
    print("\n".join(scorecard_lines(session.scorecard)))

    out = args.out or home.new_bundle_dir(session.session_id[:8])
    summary = export_bundle(store, key, out, AUDIT_ORIGIN)
    report = verify_bundle(out)
    print(f"\nEvidence bundle: {out}")
    print(f"  {summary.count} signed records; verification: {'OK' if report.ok else 'FAILED'}")
    for problem in report.problems:
        print(f"  {problem.code}: {problem.message}")
    store.close()
    return 0 if report.ok else 1
