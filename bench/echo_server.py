"""The peer of `bench.loop_cost`: a bare WebSocket echo on the stack Proctor serves with.

FastAPI's WebSocket route under uvicorn, per-message deflate off as in `server.serving`:
each text frame is parsed as JSON and answered with one numbered message carrying it back,
the least any streaming session server does per partial. What Proctor's loop spends per
partial beyond this is its own (validation, evaluation, audit hand-off, the message log).

Run: `uvicorn bench.echo_server:app --ws-per-message-deflate false`.
"""

from __future__ import annotations

import json

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.get("/v1/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.websocket("/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    seq = 0
    try:
        while True:
            message = json.loads(await websocket.receive_text())
            seq += 1
            await websocket.send_text(json.dumps({"seq": seq, "event": message}))
    except WebSocketDisconnect:
        return
