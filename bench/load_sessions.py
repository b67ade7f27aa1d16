"""Load: many concurrent streaming sessions against a real server on 127.0.0.1.

A uvicorn server runs in its own process on a fresh data folder with the pharma pack policy
published. Each simulated learner (one API key each) creates a session, opens its WebSocket and
speaks four lines of the pack's sample transcripts word by word at speaking pace (one partial
every 0.4 s, about 150 words a minute), then the final, then ends the session. Measured:
  - flag latency: from sending the partial or final whose processing raised a flag (the
    server echoes each utterance before the flags it raises) to receiving the `flag.raised`
    event, p50/p99;
  - CPU use of the server process (user + system time over wall time, 2 cores = 200 %);
  - audit records written (counted in the database after the run) against the durable events
    the clients received (must be equal).
Run: `python -m bench.load_sessions [--sessions 50 200]` (writes bench/results/load_sessions.*).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.machine import machine, percentile
from engine.transcripts import load_transcript
from policies import pack_path
from server.auth import ApiKeyStore, Role
from server.config import ServerConfig
from server.policy_registry import PolicyRegistry

WORD_INTERVAL_S = 0.4
LINES_PER_SESSION = 4
TRANSIENT = {"utterance.partial", "persona.delta"}
RESULTS = Path(__file__).resolve().parent / "results"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _prepare(root: Path, sessions: int) -> list[str]:
    config = ServerConfig(root).ensure()
    registry = PolicyRegistry(config.service_db)
    source = (pack_path("pharma") / "policy.yaml").read_text(encoding="utf-8")
    stored = registry.save_draft(source, "bench")
    registry.publish(stored.policy_id, stored.version, "bench")
    registry.close()
    store = ApiKeyStore(config.service_db)
    keys = [store.create(Role.learner, f"learner-{n}")[1] for n in range(sessions)]
    store.close()
    return keys


def _lines() -> list[str]:
    lines = []
    for name in ("non_compliant.txt", "compliant.txt"):
        transcript = load_transcript(pack_path("pharma") / "transcripts" / name)
        lines += [line.text for line in transcript if line.speaker.value == "learner"]
    return lines


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _learner(
    base: str, key: str, lines: list[str], latencies: list[float], received: list[int]
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        created = await http.post(
            "/v1/sessions", json={"policy_id": "pharma-detailing-us"}, headers=headers
        )
        created.raise_for_status()
        session_id = created.json()["session_id"]
    sent: dict[tuple[str, int | None], float] = {}
    durable = 0
    url = base.replace("http", "ws") + f"/v1/sessions/{session_id}/stream?access_token={key}"
    async with websockets.connect(url, max_size=2**22) as socket_:

        async def listen() -> None:
            nonlocal durable
            current: tuple[str, int | None] | None = None
            async for raw in socket_:
                message = json.loads(raw)
                event = message.get("event")
                if event is None:
                    continue
                if event["type"] not in TRANSIENT:
                    durable += 1
                if event["type"] == "utterance.partial":
                    current = (event["utterance_id"], event["revision"])
                elif event["type"] == "utterance.final":
                    current = (event["utterance_id"], None)
                elif event["type"] == "flag.raised" and current in sent:
                    # A flag follows the echo of the message whose processing raised it, even
                    # when it names an earlier utterance (a claim left unbalanced).
                    latencies.append((time.perf_counter() - sent[current]) * 1000)
                if event["type"] == "session.ended":
                    return

        listener = asyncio.create_task(listen())
        for number, line in enumerate(lines):
            utterance = f"u{number}"
            words = line.split()
            for revision in range(len(words)):
                sent[(utterance, revision)] = time.perf_counter()
                await socket_.send(
                    json.dumps(
                        {
                            "type": "utterance.partial",
                            "utterance_id": utterance,
                            "revision": revision,
                            "text": " ".join(words[: revision + 1]),
                        }
                    )
                )
                await asyncio.sleep(WORD_INTERVAL_S)
            sent[(utterance, None)] = time.perf_counter()
            await socket_.send(
                json.dumps({"type": "utterance.final", "utterance_id": utterance, "text": line})
            )
            if listener.done():
                break
        if not listener.done():
            await socket_.send(json.dumps({"type": "session.end"}))
        await asyncio.wait_for(listener, timeout=120)
    received.append(durable)


async def _run(base: str, keys: list[str], lines: list[str]) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    received: list[int] = []
    scripts = [
        [lines[(n + i) % len(lines)] for i in range(LINES_PER_SESSION)] for n in range(len(keys))
    ]
    await asyncio.gather(
        *(
            _learner(base, key, script, latencies, received)
            for key, script in zip(keys, scripts, strict=True)
        )
    )
    return latencies, received


def _serve(root: Path, port: int) -> subprocess.Popen[bytes]:
    proctor = Path(sys.executable).with_name("proctor")
    server = subprocess.Popen(
        [str(proctor), "serve", "--port", str(port)],
        env={**os.environ, "PROCTOR_HOME": str(root)},
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start within 60 s")


def measure(sessions: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "home"
        keys = _prepare(root, sessions)
        port = _free_port()
        server = _serve(root, port)
        try:
            cpu_before, wall_before = _cpu_seconds(server.pid), time.monotonic()
            client_before = time.process_time()
            latencies, received = asyncio.run(_run(f"http://127.0.0.1:{port}", keys, _lines()))
            cpu = _cpu_seconds(server.pid) - cpu_before
            client_cpu = time.process_time() - client_before
            wall = time.monotonic() - wall_before
        finally:
            server.terminate()
            server.wait(timeout=30)
        records = (
            sqlite3.connect(root / "audit.sqlite3")
            .execute("SELECT COUNT(*) FROM records")
            .fetchone()[0]
        )
    return {
        "sessions": sessions,
        "flags": len(latencies),
        "flag_latency_ms": {
            "p50": round(percentile(latencies, 0.5), 2),
            "p99": round(percentile(latencies, 0.99), 2),
            "max": round(max(latencies), 2),
        },
        "server_cpu_percent": round(100 * cpu / wall, 1),
        "client_cpu_percent": round(100 * client_cpu / wall, 1),
        "wall_seconds": round(wall, 1),
        "audit_records_written": records,
        "durable_events_received": sum(received),
        "sessions_completed": len(received),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, nargs="+", default=[50, 200])
    args = parser.parse_args()
    runs = [measure(count) for count in args.sessions]
    report: dict[str, Any] = {
        "machine": machine(),
        "word_interval_s": WORD_INTERVAL_S,
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load_sessions.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Concurrent streaming sessions on 127.0.0.1",
        "",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores. One partial "
        f"every {WORD_INTERVAL_S} s per session, pharma policy. Budget: 200 sessions, flag p99 "
        "<= 50 ms, audit records written = durable events received.",
        "",
        "| sessions | flags | flag p50 ms | p99 ms | max ms | server CPU % | client CPU % "
        "| records written "
        "| durable events received |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        latency = run["flag_latency_ms"]
        lines.append(
            f"| {run['sessions']} | {run['flags']} | {latency['p50']} | {latency['p99']} | "
            f"{latency['max']} | {run['server_cpu_percent']} | {run['client_cpu_percent']} | "
            f"{run['audit_records_written']} | "
            f"{run['durable_events_received']} |"
        )
    (RESULTS / "load_sessions.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
