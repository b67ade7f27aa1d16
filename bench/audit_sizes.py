"""Audit sizes: Merkle proof and checkpoint bytes by log size, bundle bytes per session.

Run: ``python -m bench.audit_sizes`` (about a minute). Writes bench/results/audit_sizes.json
and audit_sizes.md.

Why: an auditor downloads proofs and bundles, so their size is part of what the audit
design costs. Proof sizes depend only on the tree's shape (RFC 6962: an inclusion proof has
at most ceil(log2 n) hashes, a consistency proof about twice that), so they are measured on
trees of stand-in leaf hashes at 1k, 100k and 1M leaves, in the bundle's file formats
(`audit.proof_files`, a C2SP tlog-proof carries its signed checkpoint) and checked with the
verifier's own functions. The peer for each is the bare hash count times 32 bytes.

Bundle sizes come from real sessions: the pharma pack's policy run by `engine.Session`
over its two sample transcripts (compliant and non-compliant, alternately), recorded through
`AuditRecorder` exactly as the service records, once with final utterances only and once
with the word-by-word partial transcripts a streaming recogniser sends (as `proctor demo`
does; partials are evaluated but not recorded as records of their own). Each log is exported
whole and, for one session, as a subset bundle (which carries an inclusion proof per
record); bytes are split by top-level directory of the bundle. No knowledge base is
attached, so grounding rules are not evaluated (they add no records).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from audit import AuditLog, SigningKey, SQLiteRecordStore, export_bundle, verify_bundle
from audit.checkpoint import Checkpoint, sign_checkpoint
from audit.merkle_index import MerkleIndex
from audit.merkle_verify import verify_consistency, verify_inclusion
from audit.note import NoteSigner
from audit.proof_files import (
    ConsistencyProof,
    InclusionProof,
    render_consistency,
    render_inclusion,
)
from bench.machine import machine
from engine import Session, SteppingClock
from engine.planning import plan_policy
from engine.recording import AuditRecorder
from engine.replay import replay_inputs
from engine.transcripts import TranscriptLine, load_transcript
from policies import pack_path
from policies.loading import load_policy

RESULTS = Path(__file__).resolve().parent / "results"
ORIGIN = "bench.proctor/audit"
LOG_SIZES = (1_000, 100_000, 1_000_000)
SESSIONS = 100
START = datetime(2026, 3, 4, 9, 0, 0, tzinfo=UTC)


# -- proofs ----------------------------------------------------------------------------


def proof_sizes(size: int, signer: NoteSigner) -> dict[str, Any]:
    """Bytes of the proofs and checkpoint of a log of `size` leaves (stand-in leaf hashes:
    proof sizes depend on the tree's shape, not on what the leaves hold)."""
    index = MerkleIndex()
    for n in range(size):
        index.append(hashlib.sha256(n.to_bytes(8, "big")).digest())
    root = index.root()
    note = sign_checkpoint(Checkpoint(ORIGIN, size, root), signer)
    inclusion = {}
    for name, leaf in (("first_leaf", 0), ("last_leaf", size - 1)):
        hashes = index.inclusion_proof(leaf, size)
        verify_inclusion(index.leaf(leaf), leaf, size, hashes, root)
        rendered = render_inclusion(InclusionProof(leaf, tuple(hashes), note))
        inclusion[name] = {
            "hashes": len(hashes),
            "hash_bytes": 32 * len(hashes),
            "file_bytes": len(rendered),
            "file_bytes_without_checkpoint": len(rendered) - len(note.encode()),
        }
    consistency = {}
    for name, old in (("from_half", size // 2), ("from_size_minus_1", size - 1)):
        hashes = index.consistency_proof(old, size)
        verify_consistency(old, size, index.root(old), root, hashes)
        rendered = render_consistency(ConsistencyProof(old, size, tuple(hashes)))
        consistency[name] = {
            "old_size": old,
            "hashes": len(hashes),
            "hash_bytes": 32 * len(hashes),
            "file_bytes": len(rendered),
        }
    return {
        "leaves": size,
        "ceil_log2": (size - 1).bit_length(),
        "checkpoint_note_bytes": len(note.encode()),
        "inclusion": inclusion,
        "consistency": consistency,
    }


# -- bundles ---------------------------------------------------------------------------


def transcripts() -> list[list[TranscriptLine]]:
    folder = pack_path("pharma") / "transcripts"
    return [load_transcript(folder / name) for name in ("compliant.txt", "non_compliant.txt")]


def record_sessions(store: SQLiteRecordStore, key: SigningKey, partials: bool) -> None:
    """`SESSIONS` real engine sessions on the pharma policy, recorded into `store`."""
    plan = plan_policy(load_policy(pack_path("pharma") / "policy.yaml"))
    scripts = transcripts()
    log = AuditLog(store, key, origin=ORIGIN)
    for n in range(SESSIONS):
        session = Session(
            plan,
            learner=f"learner-{n % 7:04d}",
            session_id=f"bench-session-{n:04d}",
            recorder=AuditRecorder(log),
            clock=SteppingClock(START + timedelta(hours=n), timedelta(seconds=2)),
        )
        session.start()
        for _, utterance in replay_inputs(scripts[n % 2], with_partials=partials):
            session.ingest(utterance)
            if session.state.value != "active":
                break
        if session.state.value == "active":
            session.end("completed")


def bytes_by_directory(root: Path) -> dict[str, int]:
    """Bytes per top-level entry (log/checkpoints apart from the rest of log/)."""
    totals: Counter[str] = Counter()
    for path in _files(root):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("log/checkpoints/"):
            part = "log/checkpoints"
        else:
            part = relative.split("/", 1)[0] + ("/" if "/" in relative else "")
        totals[part] += path.stat().st_size
    return dict(sorted(totals.items()))


def _files(root: Path) -> Iterator[Path]:
    for directory, _, names in os.walk(root):
        for name in names:
            yield Path(directory) / name


def bundle_sizes(workdir: Path, partials: bool) -> dict[str, Any]:
    key = SigningKey.generate()
    label = "with_partials" if partials else "finals_only"
    with SQLiteRecordStore(workdir / f"{label}.db") as store:
        started = time.perf_counter()
        record_sessions(store, key, partials)
        recorded = time.perf_counter() - started
        whole = export_bundle(store, key, workdir / f"{label}-whole", ORIGIN)
        one_session = sorted({row.session_id for row in store.records()})[1]  # non-compliant
        subset = export_bundle(
            store, key, workdir / f"{label}-subset", ORIGIN, sessions=[one_session]
        )
    results: dict[str, Any] = {"record_seconds": recorded}
    for name, summary in (("whole_log", whole), ("one_session", subset)):
        report = verify_bundle(summary.path)
        if not report.ok:
            raise SystemExit(f"{name} bundle failed verification: {report.problems[:3]}")
        parts = bytes_by_directory(summary.path)
        total = sum(parts.values())
        results[name] = {
            "sessions": summary.sessions,
            "records": summary.count,
            "records_per_session": summary.count / summary.sessions,
            "bytes": total,
            "bytes_per_session": total / summary.sessions,
            "bytes_per_record": total / summary.count,
            "by_directory": parts,
            "by_directory_per_session": {k: v / summary.sessions for k, v in parts.items()},
        }
    return results


# -- report ----------------------------------------------------------------------------


def main() -> None:
    signer = NoteSigner(ORIGIN, SigningKey.generate())
    proofs = [proof_sizes(size, signer) for size in LOG_SIZES]
    with tempfile.TemporaryDirectory(prefix="proctor-sizes-") as tmp:
        bundles = {
            "finals_only": bundle_sizes(Path(tmp), partials=False),
            "with_partials": bundle_sizes(Path(tmp), partials=True),
        }
    report = {
        "machine": machine(),
        "sessions_recorded": SESSIONS,
        "proofs": proofs,
        "bundles": bundles,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "audit_sizes.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = render(report)
    (RESULTS / "audit_sizes.md").write_text(markdown)
    print(markdown)


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    out = [
        "# Audit sizes",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}. "
        "Run: `python -m bench.audit_sizes`.",
        "",
        "## Proofs and checkpoints (bytes)",
        "",
        "Peer: the bare hashes (32 bytes each). A tlog-proof file carries its signed "
        "checkpoint; the column without it is the proof's own share.",
        "",
        "| log size | ceil log2 | checkpoint note | inclusion, first leaf: hashes / bare / "
        "file / file without checkpoint | inclusion, last leaf: hashes / file | "
        "consistency n/2 to n: hashes / bare / file | consistency n-1 to n: hashes / file |",
        "|---:|---:|---:|---|---|---|---|",
    ]
    for p in report["proofs"]:
        inc, tail, half, last = (
            p["inclusion"]["first_leaf"],
            p["inclusion"]["last_leaf"],
            p["consistency"]["from_half"],
            p["consistency"]["from_size_minus_1"],
        )
        out.append(
            f"| {p['leaves']:,} | {p['ceil_log2']} | {p['checkpoint_note_bytes']} | "
            f"{inc['hashes']} / {inc['hash_bytes']} / {inc['file_bytes']} / "
            f"{inc['file_bytes_without_checkpoint']} | {tail['hashes']} / {tail['file_bytes']} | "
            f"{half['hashes']} / {half['hash_bytes']} / "
            f"{half['file_bytes']} | {last['hashes']} / {last['file_bytes']} |"
        )
    out += [
        "",
        f"## Bundle bytes per session ({report['sessions_recorded']} pharma sessions)",
        "",
        "Whole log: every session's records, content and report, and the log's checkpoints "
        "(proofs/ holds consistency proofs between them). One session: a subset bundle, whose "
        "proofs/ holds an inclusion proof (with its checkpoint) per record. Partial transcripts "
        "are evaluated but not recorded as such: both runs hold the same number of records "
        "and differ only slightly in bytes.",
        "",
    ]
    for label, figures in report["bundles"].items():
        for name in ("whole_log", "one_session"):
            b = figures[name]
            out.append(
                f"- {label}, {name.replace('_', ' ')}: {b['records']:,} records, "
                f"{b['records_per_session']:.0f} per session; {b['bytes']:,} bytes, "
                f"**{b['bytes_per_session']:,.0f} bytes per session**, "
                f"{b['bytes_per_record']:,.0f} per record"
            )
            parts = ", ".join(
                f"{part} {size:,.0f}" for part, size in b["by_directory_per_session"].items()
            )
            out.append(f"  - per session by directory: {parts}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
