"""Escalation webhooks end to end: a real session, the real audit database and outbox, a real
HTTP receiver on 127.0.0.1 that verifies every delivery with the standardwebhooks library."""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from audit import (
    AuditLog,
    OutboxMessage,
    SigningKey,
    SQLiteRecordStore,
    StoreError,
    decode_record,
    format_timestamp,
)
from audit.timefmt import utc_now
from engine import EscalationTriggered, FinalUtterance, Session, event_to_json
from engine.recording import AuditRecorder
from evaluators import compile_policy
from policies import parse_policy
from server import ServerConfig, create_app
from server.webhooks import RetrySchedule, WebhookDispatcher, WebhookEndpoint

POLICY = """\
policy: webhook-test
version: 1
guardrails:
  - id: no-guarantee
    severity: critical
    match: {phrases: [guarantee]}
escalation:
  - when: {severity: critical}
    do: [{notify: compliance-team}]
"""
TWO_CHANNELS = POLICY.replace(
    "[{notify: compliance-team}]", "[{notify: compliance-team}, {notify: legal}]"
)
FAST = RetrySchedule(base=timedelta(milliseconds=20), cap=timedelta(milliseconds=100))
WAIT = 30.0  # seconds before a wait gives up: a hang guard, not a speed requirement


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@dataclass(frozen=True)
class Delivery:
    """One request the receiver got, and whether its signature verified."""

    webhook_id: str
    body: bytes
    headers: dict[str, str]
    verified: bool


class Receiver:
    """A webhook receiver on 127.0.0.1: its port is bound at once but refuses connections
    until `up()`; every request is verified with the secret and kept in `deliveries`."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.deliveries: list[Delivery] = []
        self.status = 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
                with receiver._lock:
                    receiver.deliveries.append(
                        Delivery(headers.get("webhook-id", ""), body, headers, verified)
                    )
                    status = receiver.status if verified else 400
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def server_bind(self) -> None:
                # Skip HTTPServer's reverse DNS lookup of the host name.
                socketserver.TCPServer.server_bind(self)
                self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

        self._server = Server(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self._server.server_bind()  # the port is ours, but nothing listens: connections refused
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hooks/escalations"

    def up(self) -> None:
        self._server.server_activate()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def ids(self) -> list[str]:
        with self._lock:
            return [d.webhook_id for d in self.deliveries]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    opened = Receiver(new_secret())
    yield opened
    opened.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteRecordStore]:
    with SQLiteRecordStore(tmp_path / "audit.sqlite3") as opened:
        yield opened


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


def escalating_session(
    log: AuditLog, utterances: int, policy: str = POLICY
) -> list[EscalationTriggered]:
    """Run a session whose every utterance breaches the critical rule; its escalations."""
    session = Session(
        compile_policy(parse_policy(policy)), learner="L-1", recorder=AuditRecorder(log)
    )
    session.start()
    escalations = []
    for number in range(utterances):
        events = session.ingest(
            FinalUtterance(utterance_id=f"u{number}", text=f"I guarantee it ({number}).")
        )
        escalations += [event for event in events if isinstance(event, EscalationTriggered)]
    session.end()
    return escalations


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.02)


def test_receiver_down_then_up_gets_every_escalation_exactly_once(
    store: SQLiteRecordStore, key: SigningKey, receiver: Receiver
) -> None:
    endpoint = WebhookEndpoint(receiver.url, receiver.secret, timeout=5)
    dispatcher = WebhookDispatcher(
        store, {"compliance-team": endpoint}, retry=FAST, poll_interval=0.05
    )
    dispatcher.start()
    try:
        escalations = escalating_session(AuditLog(store, key), utterances=4)
        assert len(escalations) == 4

        def all_retried_while_down() -> bool:
            messages = store.outbox_messages()
            return len(messages) == 4 and all(m.attempts >= 2 for m in messages)

        wait_for(all_retried_while_down, "every message to fail twice while the receiver is down")
        assert receiver.ids() == []
        assert all("ConnectError" in (m.last_error or "") for m in store.outbox_messages())
        assert all(m.delivered_at is None for m in store.outbox_messages())

        receiver.up()
        wait_for(lambda: store.outbox_backlog() == {}, "every message to be delivered")
    finally:
        dispatcher.stop()
    messages = store.outbox_messages()
    assert dispatcher.deliver_due(utc_now() + timedelta(days=1)) == 0, "nothing is sent again"

    assert Counter(receiver.ids()) == Counter({m.id: 1 for m in messages})
    assert all(delivery.verified for delivery in receiver.deliveries)
    records = {record.seq: record for record in store.records()}
    bodies = {d.webhook_id: json.loads(d.body) for d in receiver.deliveries}
    for message, escalation in zip(messages, escalations, strict=True):
        payload = bodies[message.id]
        assert payload["type"] == "escalation.triggered"
        assert payload["data"]["event"] == event_to_json(escalation)
        record = records[payload["data"]["record"]["seq"]]
        assert payload["data"]["record"]["digest"] == record.digest
        assert decode_record(
            record.line, {key.public_key.keyid: key.public_key}
        ).event == event_to_json(escalation)
        assert payload["data"]["session_id"] == escalation.session_id
        assert message.delivered_at is not None and message.last_error is None


def test_the_id_is_stable_across_retries_and_each_attempt_is_signed_afresh(
    store: SQLiteRecordStore, key: SigningKey, receiver: Receiver
) -> None:
    escalating_session(AuditLog(store, key), utterances=1)
    receiver.status = 503
    receiver.up()
    dispatcher = WebhookDispatcher(
        store,
        {"compliance-team": WebhookEndpoint(receiver.url, receiver.secret)},
        rng=random.Random(7),
    )
    later = utc_now() + timedelta(hours=1)  # past any backoff: each pass retries at once
    before = utc_now()
    assert dispatcher.deliver_due(later) == 0
    after = utc_now()
    (failed,) = store.outbox_messages()
    assert failed.attempts == 1 and failed.last_error is not None
    assert failed.last_error.startswith("HTTP 503")
    retry_at = failed.next_attempt_at
    assert (
        format_timestamp(before + timedelta(seconds=0.75))
        <= retry_at
        <= format_timestamp(after + timedelta(seconds=1))
    )

    assert dispatcher.deliver_due(later) == 0
    receiver.status = 200
    assert dispatcher.deliver_due(later) == 1
    assert dispatcher.deliver_due(later) == 0
    (delivered,) = store.outbox_messages()
    assert delivered.attempts == 3 and delivered.delivered_at is not None
    assert receiver.ids() == [delivered.id] * 3
    assert all(d.verified for d in receiver.deliveries)
    assert {d.body for d in receiver.deliveries} == {delivered.body}, "same bytes every time"


class CrashAfterPost:
    """The real store, except that recording the first delivery fails: a dispatcher that
    dies after the receiver accepted a message and before it could mark it delivered."""

    def __init__(self, store: SQLiteRecordStore) -> None:
        self.store = store
        self.crashed = False

    def claim_due(self, *args: object, **kwargs: object) -> list[OutboxMessage]:
        return self.store.claim_due(*args, **kwargs)  # type: ignore[arg-type]

    def mark_delivered(self, message_id: str, at: datetime) -> bool:
        if not self.crashed:
            self.crashed = True
            raise StoreError("power cut")
        return self.store.mark_delivered(message_id, at)

    def mark_failed(self, message_id: str, error: str, retry_at: datetime) -> None:
        self.store.mark_failed(message_id, error, retry_at)

    def outbox_messages(self, *, undelivered_only: bool = False) -> list[OutboxMessage]:
        return self.store.outbox_messages(undelivered_only=undelivered_only)

    def outbox_backlog(self) -> dict[str, int]:
        return self.store.outbox_backlog()


def test_a_crash_after_the_post_resends_the_same_id_which_receivers_deduplicate(
    store: SQLiteRecordStore, key: SigningKey, receiver: Receiver
) -> None:
    escalating_session(AuditLog(store, key), utterances=1)
    receiver.up()
    lease = timedelta(minutes=5)
    dispatcher = WebhookDispatcher(
        CrashAfterPost(store),
        {"compliance-team": WebhookEndpoint(receiver.url, receiver.secret)},
        lease=lease,
    )
    now = utc_now()
    with pytest.raises(StoreError, match="power cut"):
        dispatcher.deliver_due(now)
    assert store.outbox_backlog() == {"compliance-team": 1}, "not lost: still queued"
    assert dispatcher.deliver_due(now) == 0, "held by the lapsed dispatcher's claim"
    assert dispatcher.deliver_due(now + lease + timedelta(seconds=1)) == 1
    assert store.outbox_backlog() == {}
    (message,) = store.outbox_messages()
    assert receiver.ids() == [message.id, message.id]
    processed = {d.webhook_id: json.loads(d.body) for d in receiver.deliveries if d.verified}
    assert list(processed) == [message.id], "de-duplicating by webhook-id processes it once"


def test_a_channel_without_endpoint_waits_and_is_reported(
    store: SQLiteRecordStore,
    key: SigningKey,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    escalating_session(AuditLog(store, key), utterances=2, policy=TWO_CHANNELS)
    receiver.up()
    endpoint = WebhookEndpoint(receiver.url, receiver.secret)
    only_compliance = WebhookDispatcher(store, {"compliance-team": endpoint})
    with caplog.at_level(logging.WARNING, logger="proctor.webhooks"):
        assert only_compliance.deliver_due(utc_now()) == 2
    assert "2 webhook message(s) for channel 'legal' wait" in caplog.text
    assert only_compliance.unrouted() == {"legal": 2}
    assert store.outbox_backlog() == {"legal": 2}
    assert all(m.attempts == 0 for m in store.outbox_messages(undelivered_only=True))

    both = WebhookDispatcher(store, {"compliance-team": endpoint, "legal": endpoint})
    assert both.deliver_due(utc_now()) == 2
    assert both.unrouted() == {} and store.outbox_backlog() == {}
    assert len(set(receiver.ids())) == 4 and all(d.verified for d in receiver.deliveries)


def test_the_signature_covers_body_id_and_secret(
    store: SQLiteRecordStore, key: SigningKey, receiver: Receiver
) -> None:
    escalating_session(AuditLog(store, key), utterances=1)
    receiver.up()
    dispatcher = WebhookDispatcher(
        store, {"compliance-team": WebhookEndpoint(receiver.url, receiver.secret)}
    )
    assert dispatcher.deliver_due(utc_now()) == 1
    (delivery,) = receiver.deliveries
    assert delivery.verified
    assert set(delivery.headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert delivery.headers["content-type"] == "application/json"
    verifier = Webhook(receiver.secret)
    assert verifier.verify(delivery.body, delivery.headers)["type"] == "escalation.triggered"

    tampered = delivery.body.replace(b'"severity":"critical"', b'"severity":"warning"')
    assert tampered != delivery.body
    with pytest.raises(WebhookVerificationError):
        verifier.verify(tampered, delivery.headers)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(delivery.body, {**delivery.headers, "webhook-id": "msg_other"})
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(delivery.body, delivery.headers)


def test_the_service_delivers_while_running_when_endpoints_are_configured(
    tmp_path: Path, receiver: Receiver, database: str | None
) -> None:
    receiver.up()
    endpoint = WebhookEndpoint(receiver.url, receiver.secret)
    config = ServerConfig(
        tmp_path / "home", webhooks={"compliance-team": endpoint}, database_url=database
    )
    app = create_app(config)
    with TestClient(app):
        dispatcher = app.state.webhooks
        assert isinstance(dispatcher, WebhookDispatcher)
        assert dispatcher.channels == {"compliance-team"}
        escalating_session(app.state.service.audit_log, utterances=1)
        wait_for(lambda: len(receiver.ids()) == 1, "the service to deliver the escalation")
    assert receiver.deliveries[0].verified

    plain = create_app(ServerConfig(tmp_path / "plain"))
    with TestClient(plain):
        assert plain.state.webhooks is None


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter() -> None:
    class Fixed(random.Random):
        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

        def random(self) -> float:
            return self.value

    schedule = RetrySchedule()
    no_jitter = [schedule.delay(n, Fixed(0.0)).total_seconds() for n in range(1, 12)]
    assert no_jitter == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert schedule.delay(100_000, Fixed(0.0)) == timedelta(minutes=5)
    assert schedule.delay(3, Fixed(1.0)).total_seconds() == pytest.approx(3.0)
    rng = random.Random(1)
    assert all(3.0 <= schedule.delay(3, rng).total_seconds() <= 4.0 for _ in range(200))


def test_endpoints_refuse_bad_urls_and_secrets_and_hide_the_secret() -> None:
    secret = new_secret()
    assert secret not in repr(WebhookEndpoint("https://hooks.example/x", secret))
    with pytest.raises(ValueError, match="http"):
        WebhookEndpoint("ftp://hooks.example/x", secret)
    with pytest.raises(ValueError, match="whsec_"):
        WebhookEndpoint("https://hooks.example/x", "plain-password")
    with pytest.raises(Exception, match="empty"):
        WebhookEndpoint("https://hooks.example/x", "whsec_")
    with pytest.raises(ValueError, match="retry"):
        RetrySchedule(base=timedelta(0))
