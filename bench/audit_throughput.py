"""Audit throughput: durable signed appends/s (SQLite and PostgreSQL) and verification records/s.

Run: ``python -m bench.audit_throughput`` (about three minutes). Prints a table and writes
bench/results/audit_throughput.json and audit_throughput.md.

Next to the audit figures it measures their parts on the same machine in the same run
(Ed25519 signing alone; Ed25519 verification alone as the verifier does it, with dalek
where it agrees with libsodium (`audit.ed25519_fast`), with libsodium and with OpenSSL;
a bare SQLite insert with fsync per commit, a bare PostgreSQL insert per commit) so the
ratios show where the time goes. Verification is timed on a bundle of about 100k records,
through the API (one process, and worker processes; median of three runs) and through the
``proctor audit verify`` command, whose figure includes starting the program and its
workers (lean interpreters running ``audit.verify_worker``). For the worker runs the CPU
time of all processes (this one and its workers) per record is recorded too: on 2 cores
it, not the wall time of one process, is what the Ed25519 peer bounds.
Budget (DESIGN.md): >= 5,000 signed durable records/s, verification >= 20,000 records/s,
on 2 CPU cores.

``python -m bench.audit_throughput --verify-only`` times just the verification rows and the
Ed25519 peers and prints them (nothing is written): for development.

The PostgreSQL figures use the server at ``PROCTOR_BENCH_POSTGRES`` (default: the local test
server, postgresql://postgres@127.0.0.1:5432/test), in a throwaway schema dropped afterwards;
if no server answers they are skipped with a note. The server's durability settings
(fsync, synchronous_commit) are recorded with them: with either off the figures say nothing
about durable appends.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import resource
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from cryptography.hazmat.backends.openssl import backend as openssl_backend
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl import __version__ as pynacl_version

from audit import (
    RECORD_PAYLOAD_TYPE,
    AuditLog,
    PolicyRef,
    PostgresRecordStore,
    RecordStore,
    SigningKey,
    SQLiteRecordStore,
    canonical_json,
    export_bundle,
    pae,
    verify_bundle,
)
from audit.ed25519_fast import key_verifier

RESULTS = Path(__file__).resolve().parent / "results" / "audit_throughput.json"
POLICY = PolicyRef(id="pharma-detailing-us", version=3, digest="ab" * 32)
APPEND_SECONDS = 3.0
VERIFY_RECORDS = 100_000
VERIFY_RUNS = 3  # the median is reported: the machine is shared
PEER_BESIDE_SECONDS = 0.5  # the verifier's Ed25519 check, timed before and after each run
BUDGET_APPEND = 5_000.0
BUDGET_VERIFY = 20_000.0
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def sample_event(n: int) -> dict[str, Any]:
    """A typical final-utterance event (about 200 characters of text)."""
    return {
        "type": "UtteranceFinal",
        "turn": n,
        "speaker": "learner",
        "text": (
            "In the pivotal trial it lowered systolic pressure by 11 mmHg; the most common "
            "side effects were fatigue and dizziness, and I can't guarantee results for "
            f"every patient. (utterance {n})"
        ),
    }


def machine() -> dict[str, Any]:
    """CPU model and core count from /proc/cpuinfo, plus the software that matters here."""
    model, cores = platform.processor() or "unknown", os.cpu_count() or 0
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    names = [
        line.split(":", 1)[1].strip()
        for line in cpuinfo.splitlines()
        if line.startswith("model name")
    ]
    if names:
        model, cores = (
            names[0],
            sum(1 for line in cpuinfo.splitlines() if line.startswith("processor")),
        )
    return {
        "cpu_model": model,
        "cores": cores,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "openssl": openssl_backend.openssl_version_text(),
        "pynacl": pynacl_version,
        "platform": platform.platform(),
    }


def filesystem_of(path: Path) -> str:
    """The filesystem type holding `path` (tmpfs would make fsync free and figures wrong)."""
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    resolved = str(path.resolve())
    for line in mounts:
        fields = line.split()
        if len(fields) >= 3 and resolved.startswith(fields[1]) and len(fields[1]) > len(best):
            best, kind = fields[1], fields[2]
    return kind


def rate(count: int, seconds: float) -> dict[str, float]:
    return {"per_second": count / seconds, "us_each": seconds / count * 1e6, "count": count}


def timed(run: Callable[[], int], min_seconds: float) -> dict[str, float]:
    """Call `run` (which returns how many items it did) until `min_seconds` have passed."""
    done, start = 0, time.perf_counter()
    while True:
        done += run()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return rate(done, elapsed)


def bench_appends(workdir: Path, key: SigningKey, batch: int) -> dict[str, float]:
    """Durable signed appends to SQLite: `batch` events per AuditLog.append."""
    return bench_log_appends(SQLiteRecordStore(workdir / f"append-{batch}.db"), key, batch)


def bench_log_appends(
    opened: AbstractContextManager[RecordStore], key: SigningKey, batch: int
) -> dict[str, float]:
    """Durable signed appends: `batch` events per AuditLog.append (one transaction), from
    one thread, so each call waits for its own commit."""
    with opened as store:
        log = AuditLog(store, key)
        counter = iter(range(10**9))

        def one_call() -> int:
            n = next(counter)
            log.append(f"session-{n % 16}", POLICY, [sample_event(n)] * batch)
            return batch

        return timed(one_call, APPEND_SECONDS)


def bench_sign_only(key: SigningKey) -> dict[str, float]:
    message = pae(RECORD_PAYLOAD_TYPE, canonical_json(sample_event(1)) * 2)  # ~ record size

    def signs() -> int:
        for _ in range(1000):
            key.sign(message)
        return 1000

    return timed(signs, 1.5)


def bench_verify_only(key: SigningKey, seconds: float = 1.5) -> dict[str, float]:
    """`PublicKey.verify` alone (libsodium), on a record-sized message."""
    message = pae(RECORD_PAYLOAD_TYPE, canonical_json(sample_event(1)) * 2)
    signature, public = key.sign(message), key.public_key

    def verifies() -> int:
        for _ in range(500):
            public.verify(signature, message)
        return 500

    return timed(verifies, seconds)


def bench_verify_as_used(key: SigningKey, seconds: float = 1.5) -> dict[str, float]:
    """The verifier's own Ed25519 check (`audit.ed25519_fast`: dalek where it agrees with
    libsodium), on the same message: the floor of verification's cost per record."""
    message = pae(RECORD_PAYLOAD_TYPE, canonical_json(sample_event(1)) * 2)
    signature, verify = key.sign(message), key_verifier(key.public_key.raw)

    def verifies() -> int:
        for _ in range(500):
            verify(signature, message)
        return 500

    return timed(verifies, seconds)


def bench_verify_openssl(key: SigningKey) -> dict[str, float]:
    """The same verification by OpenSSL (`cryptography`), which the verifier used before."""
    message = pae(RECORD_PAYLOAD_TYPE, canonical_json(sample_event(1)) * 2)
    signature = key.sign(message)
    public = Ed25519PublicKey.from_public_bytes(key.public_key.raw)

    def verifies() -> int:
        for _ in range(500):
            public.verify(signature, message)
        return 500

    return timed(verifies, 1.5)


def bench_bare_sqlite(workdir: Path, rows_per_commit: int) -> dict[str, float]:
    """Plain INSERTs of record-sized rows, WAL + synchronous=FULL, no signing, no triggers."""
    conn = sqlite3.connect(workdir / f"bare-{rows_per_commit}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, line BLOB NOT NULL)")
    row = (b"x" * 750,)

    def commits() -> int:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO t (line) VALUES (?)", [row] * rows_per_commit)
        conn.execute("COMMIT")
        return rows_per_commit

    try:
        return timed(commits, 2.0)
    finally:
        conn.close()


@contextmanager
def postgres_schema(server: str) -> Iterator[str]:
    """A throwaway schema on `server`; yields a URL whose connections use it."""
    schema = f"proctor_bench_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def postgres_settings(server: str) -> dict[str, str]:
    """Server version and the settings that decide whether a commit is durable."""
    with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method")
        }


def bench_bare_postgres(url: str, rows_per_commit: int) -> dict[str, float]:
    """Plain INSERTs of record-sized rows, one transaction each, no signing, no triggers."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bare (seq BIGSERIAL PRIMARY KEY, line BYTEA NOT NULL)")
        row = (b"x" * 750,)

        def commits() -> int:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany("INSERT INTO bare (line) VALUES (%s)", [row] * rows_per_commit)
            return rows_per_commit

        return timed(commits, 2.0)


def bench_postgres(key: SigningKey) -> tuple[dict[str, Any], dict[str, Any]]:
    """PostgreSQL appends at batch 1, 8, 64 and a bare insert peer; empty with a note in the
    settings if no server answers."""
    server = os.environ.get("PROCTOR_BENCH_POSTGRES", DEFAULT_POSTGRES)
    try:
        settings: dict[str, Any] = postgres_settings(server)
    except psycopg.Error as exc:
        note = f"PostgreSQL figures skipped: no server answers ({type(exc).__name__}: {exc})"
        print(note)
        return {}, {"skipped": note}
    results: dict[str, Any] = {}
    for batch in (1, 8, 64):
        with postgres_schema(server) as url:
            results[f"postgres_append_batch_{batch}"] = bench_log_appends(
                PostgresRecordStore(url), key, batch
            )
    for rows in (1, 64):
        with postgres_schema(server) as url:
            results[f"peer_postgres_insert_commit_{rows}"] = bench_bare_postgres(url, rows)
    return results, settings


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_verification(workdir: Path, key: SigningKey) -> dict[str, Any]:
    with SQLiteRecordStore(workdir / "verify.db") as store:
        log = AuditLog(store, key)
        for n in range(VERIFY_RECORDS // 64):
            log.append(f"session-{n % 50}", POLICY, [sample_event(n)] * 64)
        start = time.perf_counter()
        summary = export_bundle(store, key, workdir / "bundle", "bench.proctor/audit")
        export_seconds = time.perf_counter() - start
    results: dict[str, Any] = {
        "records": summary.count,
        "export": rate(summary.count, export_seconds),
    }
    for label, workers in (("verify_1_process", 1), ("verify_auto_workers", None)):
        runs = []
        for _ in range(VERIFY_RUNS):
            # The shared machine's speed drifts within minutes (another VM's load shows as
            # steal time), so the Ed25519 peer is measured right beside every run too.
            peer_before = bench_verify_as_used(key, PEER_BESIDE_SECONDS)["us_each"]
            cpu = cpu_seconds()
            start = time.perf_counter()
            report = verify_bundle(summary.path, workers=workers)
            elapsed = time.perf_counter() - start
            cpu = cpu_seconds() - cpu
            peer_after = bench_verify_as_used(key, PEER_BESIDE_SECONDS)["us_each"]
            if not report.ok:
                raise SystemExit(f"benchmark bundle failed verification: {report.problems[:3]}")
            runs.append(
                {
                    **rate(report.records_checked, elapsed),
                    "cpu_us_per_record": cpu / report.records_checked * 1e6,
                    "peer_verify_us_beside": (peer_before + peer_after) / 2,
                }
            )
        runs.sort(key=lambda run: run["per_second"])
        results[label] = {
            **runs[len(runs) // 2],
            "runs_per_second": [r["per_second"] for r in runs],
            "runs_peer_verify_us_beside": [r["peer_verify_us_beside"] for r in runs],
        }
    results["verify_cli"] = bench_cli_verify(summary.path, summary.count)
    return results


def bench_cli_verify(bundle: Path, records: int) -> dict[str, float]:
    """`proctor audit verify` end to end: program and worker start-up included."""
    command = [str(Path(sys.executable).parent / "proctor"), "audit", "verify", str(bundle)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"proctor audit verify failed: {done.stdout[-500:]}{done.stderr[-500:]}")
    return rate(records, elapsed)


def main() -> None:
    if "--verify-only" in sys.argv[1:]:
        verify_only()
        return
    key = SigningKey.generate()
    info = machine()
    with tempfile.TemporaryDirectory(prefix="proctor-bench-") as tmp:
        workdir = Path(tmp)
        info["temp_filesystem"] = filesystem_of(workdir)
        results: dict[str, Any] = {
            "append_batch_1": bench_appends(workdir, key, 1),
            "append_batch_8": bench_appends(workdir, key, 8),
            "append_batch_64": bench_appends(workdir, key, 64),
            "peer_ed25519_sign": bench_sign_only(key),
            "peer_ed25519_verify": bench_verify_only(key),
            "peer_ed25519_verify_as_used": bench_verify_as_used(key),
            "peer_ed25519_verify_openssl": bench_verify_openssl(key),
            "peer_sqlite_insert_fsync_1": bench_bare_sqlite(workdir, 1),
            "peer_sqlite_insert_fsync_64": bench_bare_sqlite(workdir, 64),
        }
        results["verification"] = bench_verification(workdir, key)
    postgres_results, info["postgres"] = bench_postgres(key)
    results.update(postgres_results)
    report = {
        "machine": info,
        "results": results,
        "budget": {
            "signed_durable_records_per_second": BUDGET_APPEND,
            "verification_records_per_second": BUDGET_VERIFY,
        },
    }
    table = io.StringIO()
    with contextlib.redirect_stdout(table):
        print_table(report)
    print(table.getvalue(), end="")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    partial = RESULTS.with_suffix(".json.tmp")
    partial.write_text(json.dumps(report, indent=2) + "\n")
    partial.replace(RESULTS)
    RESULTS.with_suffix(".md").write_text(
        "# Audit throughput\n\nRun: `python -m bench.audit_throughput` (figures from one run; "
        "the machine is shared, so expect +-20% between runs).\n\n```\n"
        + table.getvalue()
        + "```\n"
    )
    print(f"\nwritten to {RESULTS} and {RESULTS.with_suffix('.md').name}")


def verify_only() -> None:
    """The verification rows and the Ed25519 peers alone, printed (development runs)."""
    key = SigningKey.generate()
    peer = bench_verify_as_used(key)
    with tempfile.TemporaryDirectory(prefix="proctor-bench-") as tmp:
        v = bench_verification(Path(tmp), key)
    peer_after = bench_verify_as_used(key)
    for label in ("verify_1_process", "verify_auto_workers", "verify_cli"):
        figures = v[label]
        runs = ", ".join(f"{x:,.0f}" for x in figures.get("runs_per_second", []))
        cpu = figures.get("cpu_us_per_record")
        print(
            f"{label:<22}{figures['per_second']:>10,.0f}/s  "
            + (f"cpu {cpu:6.1f} us/record  " if cpu else "")
            + (f"runs {runs}" if runs else "")
        )
    print(
        f"peer Ed25519 verify as the verifier does, before/after: {peer['us_each']:.1f} / "
        f"{peer_after['us_each']:.1f} us"
    )


def print_table(report: dict[str, Any]) -> None:
    m, r = report["machine"], report["results"]
    v = r["verification"]
    print(
        f"machine: {m['cpu_model']}, {m['cores']} cores, Python {m['python']}, "
        f"SQLite {m['sqlite']}, {m['openssl']}, PyNaCl {m.get('pynacl', '?')}, "
        f"temp dir on {m['temp_filesystem']}"
    )
    rows = [
        ("signed durable append, 1 record/transaction", r["append_batch_1"]),
        ("signed durable append, batch of 8", r["append_batch_8"]),
        ("signed durable append, batch of 64", r["append_batch_64"]),
        ("  peer: Ed25519 sign only", r["peer_ed25519_sign"]),
        ("  peer: bare SQLite insert+fsync, 1 row/commit", r["peer_sqlite_insert_fsync_1"]),
        ("  peer: bare SQLite insert+fsync, 64 rows/commit", r["peer_sqlite_insert_fsync_64"]),
        (f"bundle export ({v['records']} records)", v["export"]),
        ("bundle verification, 1 process", v["verify_1_process"]),
        ("bundle verification, worker processes", v["verify_auto_workers"]),
        ("bundle verification, proctor audit verify", v["verify_cli"]),
        ("  peer: Ed25519 verify only, libsodium (1 core)", r["peer_ed25519_verify"]),
        ("  peer: Ed25519 verify as the verifier does (1 core)", r["peer_ed25519_verify_as_used"]),
        ("  peer: Ed25519 verify only, OpenSSL (1 core)", r["peer_ed25519_verify_openssl"]),
    ]
    postgres = "postgres_append_batch_1" in r
    if postgres:
        pg = m["postgres"]
        rows += [
            (
                "PostgreSQL: signed durable append, 1 record/tx",
                r["postgres_append_batch_1"],
            ),
            ("PostgreSQL: signed durable append, batch of 8", r["postgres_append_batch_8"]),
            ("PostgreSQL: signed durable append, batch of 64", r["postgres_append_batch_64"]),
            ("  peer: bare PostgreSQL insert+commit, 1 row", r["peer_postgres_insert_commit_1"]),
            ("  peer: bare PostgreSQL insert+commit, 64 rows", r["peer_postgres_insert_commit_64"]),
        ]
    print(f"\n{'measure':<52}{'per second':>14}{'us each':>11}")
    for label, figures in rows:
        print(f"{label:<52}{figures['per_second']:>14,.0f}{figures['us_each']:>11.1f}")
    if postgres:
        print(
            f"PostgreSQL {pg['server_version']} on the same machine: fsync={pg['fsync']}, "
            f"synchronous_commit="
            f"{pg['synchronous_commit']}, wal_sync_method={pg['wal_sync_method']}"
        )
    else:
        print(m["postgres"]["skipped"])
    sign_us = r["peer_ed25519_sign"]["us_each"]
    verify_us = r["peer_ed25519_verify_as_used"]["us_each"]
    print("\nwhere the time goes:")
    for prefix, name in (("", "SQLite"), ("postgres_", "PostgreSQL")):
        if f"{prefix}append_batch_1" not in r:
            continue
        for batch in (1, 8, 64):
            each = r[f"{prefix}append_batch_{batch}"]["us_each"]
            print(
                f"  {name} append batch {batch:>2}: {each:7.1f} us/record, of which signing "
                f"{sign_us / each:5.0%}"
            )
    one = v["verify_1_process"]
    one_peer = one.get("peer_verify_us_beside")
    print(
        f"  verification 1 process: {one['us_each']:.1f} us/record, of which Ed25519 verify "
        f"{(one_peer or verify_us) / one['us_each']:.0%}"
        + (f" (its Ed25519 check timed beside it: {one_peer:.1f} us)" if one_peer else "")
    )
    workers = v["verify_auto_workers"]
    workers_cpu = workers.get("cpu_us_per_record")
    beside = workers.get("peer_verify_us_beside")
    if workers_cpu and beside:
        print(
            f"  verification with workers (median run): {workers_cpu:.1f} us CPU/record over all "
            f"processes; the Ed25519 check timed beside that run {beside:.1f} us, so the rest is "
            f"{workers_cpu - beside:.1f} us; {m['cores']} cores allow "
            f"{1e6 / workers_cpu * m['cores']:,.0f} records/s at that CPU cost"
        )
    for label in ("verify_1_process", "verify_auto_workers"):
        runs = ", ".join(f"{x:,.0f}" for x in v[label].get("runs_per_second", []))
        print(f"  {label} runs (records/s, median in the table): {runs}")
        peers = v[label].get("runs_peer_verify_us_beside")
        if peers:
            cores = 1 if label == "verify_1_process" else m["cores"]
            shares = ", ".join(
                f"{rate_ * peer / 1e6 / cores:.0%}"
                for rate_, peer in zip(v[label]["runs_per_second"], peers, strict=True)
            )
            print(
                "    Ed25519 check beside each run (us): "
                + ", ".join(f"{peer:.1f}" for peer in peers)
                + f"; each run's share of the Ed25519-only bound on {cores} core(s): {shares}"
            )
    best_append = max(r[f"append_batch_{b}"]["per_second"] for b in (8, 64))
    best_verify = max(v["verify_1_process"]["per_second"], v["verify_auto_workers"]["per_second"])
    print(
        f"\nbudget: appends {best_append:,.0f}/s vs {BUDGET_APPEND:,.0f} "
        f"({'met' if best_append >= BUDGET_APPEND else 'NOT met'}); "
        f"verification {best_verify:,.0f}/s vs {BUDGET_VERIFY:,.0f} "
        f"({'met' if best_verify >= BUDGET_VERIFY else 'NOT met'}; Ed25519 verify alone "
        f"allows {1e6 / verify_us * m['cores']:,.0f}/s on {m['cores']} cores"
        + (
            f", {1e6 / beside * m['cores']:,.0f}/s as timed beside the median worker run)"
            if beside
            else ")"
        )
    )


if __name__ == "__main__":
    main()
