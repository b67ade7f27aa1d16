"""`proctor practice`: a learner practises a scenario against the persona, in the terminal."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from audit import AuditLog, SigningKey, SQLiteRecordStore, export_bundle, verify_bundle
from cli.conversation_view import ConversationView
from cli.home import ProctorHome
from cli.knowledge import open_knowledge
from cli.render import scorecard_lines
from engine import EscalationTriggered, Session
from engine.planning import plan_policy
from engine.practice import Conversation
from engine.recording import AuditRecorder
from engine.replay import spoken_partials
from engine.scenarios import load_scenario
from policies import DocumentError, DocumentIssue, load_policy

AUDIT_ORIGIN = "proctor.local/audit"
EXIT_INVALID = 2
END_COMMAND = "/end"


class CountingNotifier:
    """Stands in for the firm's escalation channels: counts what each channel received."""

    def __init__(self) -> None:
        self.received: dict[str, int] = {}

    def notify(self, escalation: EscalationTriggered) -> None:
        for channel in escalation.channels:
            self.received[channel] = self.received.get(channel, 0) + 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", type=Path, required=True, help="scenario YAML")
    parser.add_argument("--script", type=Path, help="learner lines to play instead of typing")
    parser.add_argument("--learner", default="learner-0001", help="pseudonymous learner id")
    parser.add_argument("--out", type=Path, help="directory for the evidence bundle (new, empty)")
    parser.add_argument("--chroma-url", help="use a Chroma server instead of the embedded store")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between spoken words")


def typed_lines() -> Iterator[str]:
    """Lines the learner types, until /end or end of input."""
    print(f"(type your lines; {END_COMMAND} or Ctrl-D ends the session)")
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            return
        if line == END_COMMAND:
            return
        if line:
            yield line


def script_lines(path: Path) -> list[str]:
    """A scripted learner: one line per utterance; blank lines and # comments are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DocumentError([DocumentIssue(str(path), 0, 0, (), f"cannot read: {error}")]) from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def run_practice(
    scenario_path: Path,
    learner_lines: Iterable[str],
    *,
    learner: str,
    out: Path | None,
    chroma_url: str | None = None,
    spoken: bool = False,
    pace: float = 0.0,
) -> int:
    from engine.persona import ScriptedPersona
    from knowledge_base import default_embedder

    home = ProctorHome.from_environment().ensure()
    scenario = load_scenario(scenario_path)
    folder = scenario_path.parent
    policy = load_policy(folder / scenario.policy)
    knowledge = None
    if scenario.knowledge_base:
        documents = [folder / name for name in scenario.documents]
        knowledge = open_knowledge(home, scenario.knowledge_base, documents, chroma_url)
    embedder = default_embedder(cache_dir=home.root / "knowledge_bases" / "embedding-cache")
    persona = ScriptedPersona(scenario, embedder, knowledge)
    key = SigningKey.load_or_create(home.signing_key)
    store = SQLiteRecordStore(home.audit_db)
    notifier = CountingNotifier()
    session = Session(
        plan_policy(policy, embedder),
        learner=learner,
        recorder=AuditRecorder(AuditLog(store, key)),
        notifier=notifier,
        scenario=scenario.scenario,
        knowledge=knowledge,
    )
    view = ConversationView(scenario.persona.name)
    print(
        f"{scenario.title}\nPolicy {policy.policy} v{policy.version}; session {session.session_id}"
    )
    if knowledge is not None:
        digest = knowledge.digest[:12]
        print(f"Knowledge base {knowledge.name}: {len(knowledge)} passages, digest {digest}…")
    print()
    conversation = Conversation(session, persona)
    for event in conversation.open():
        view.show(event)
    for number, line in enumerate(learner_lines, start=1):
        utterance_id = f"learner-{number}"
        if spoken:
            print(f"learner: {line}")
            for partial in spoken_partials(utterance_id, line):
                if pace:
                    time.sleep(pace)
                for event in conversation.partial(utterance_id, partial.revision, partial.text):
                    view.show(event)
        started = time.perf_counter()
        for event in conversation.say(utterance_id, line):
            view.show(event)
        if not spoken:
            print(f"  ({(time.perf_counter() - started) * 1000:.0f} ms)")
        if not conversation.active:
            break
    for event in conversation.end():
        view.show(event)
    if session.state.value == "ended" and session.scorecard is not None:
        sent = ", ".join(f"{channel} x{count}" for channel, count in notifier.received.items())
        print(f"\nEscalations delivered: {sent or 'none'}\n")
        print("\n".join(scorecard_lines(session.scorecard)))
    bundle = out or home.new_bundle_dir(session.session_id[:8])
    summary = export_bundle(store, key, bundle, AUDIT_ORIGIN)
    report = verify_bundle(bundle)
    store.close()
    print(f"\nEvidence bundle: {bundle}")
    print(f"  {summary.count} signed records; verification: {'OK' if report.ok else 'FAILED'}")
    for problem in report.problems:
        print(f"  {problem.code}: {problem.message}")
    return 0 if report.ok else 1


def run(args: argparse.Namespace) -> int:
    from knowledge_base import KnowledgeBaseError

    try:
        lines: Iterable[str] = script_lines(args.script) if args.script else typed_lines()
        return run_practice(
            args.scenario,
            lines,
            learner=args.learner,
            out=args.out,
            chroma_url=args.chroma_url,
            spoken=args.script is not None,
            pace=args.pace,
        )
    except (DocumentError, KnowledgeBaseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
