"""Escalation webhooks: deliver the audit outbox, signed per Standard Webhooks, until accepted.

Messages are queued by the audit log in the same transaction as the escalation they
announce (`audit.outbox`); this module only delivers them. Each pass claims the due,
undelivered messages of the channels that have an endpoint, POSTs each body with the
``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature`` headers of the
`standardwebhooks` library, marks a 2xx as delivered and otherwise records the error and
schedules the next attempt with capped exponential backoff and jitter. A message is never
given up: a receiver that is down for hours still gets every escalation when it returns.

Delivery is at least once. A message is sent twice only when the receiver accepted it but
that was not recorded: a crash (or store failure) after the 2xx and before marking it
delivered (the claim then lapses and it goes out again), or an answer lost or later than the
timeout. The repeat carries the same ``webhook-id`` and body, which is why receivers
de-duplicate by that id, as the Standard Webhooks spec asks (docs/webhooks.md).

Messages for a channel without an endpoint stay queued and are reported (log and
`WebhookDispatcher.unrouted`), never dropped; configuring the endpoint later delivers them.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from math import floor
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from audit import OutboxMessage, OutboxStore
from audit.timefmt import utc_now

logger = logging.getLogger("proctor.webhooks")

USER_AGENT = "Proctor-Webhooks/1"
_MAX_EXPONENT = 64  # 2**64 s is past any cap: keeps the power finite for huge attempt counts


def url_problem(url: str) -> str | None:
    """Why `url` cannot receive webhooks, or None when it can."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"webhook url {url!r} is not an http(s) URL"
    return None


@dataclass(frozen=True)
class WebhookEndpoint:
    """Where a channel's messages go and the Standard Webhooks secret (``whsec_...``) that
    signs them. The secret is checked when the endpoint is made and kept out of its repr."""

    url: str
    secret: str = field(repr=False)
    timeout: float = 10.0

    def __post_init__(self) -> None:
        problem = url_problem(self.url)
        if problem is not None:
            raise ValueError(problem)
        if not self.secret.startswith("whsec_"):
            raise ValueError("a webhook secret is a Standard Webhooks secret: 'whsec_<base64>'")
        self.signer()  # an empty or undecodable secret fails here, not at the first delivery
        if self.timeout <= 0:
            raise ValueError(f"webhook timeout must be positive, not {self.timeout}")

    def signer(self) -> Webhook:
        return Webhook(self.secret)


@dataclass(frozen=True)
class RetrySchedule:
    """How long to wait after a failed attempt: ``base * factor**(attempts - 1)``, capped,
    shortened by up to `jitter` (a fraction) at random so that many messages failing at
    once do not all retry in the same instant. The defaults give about 1 s, 2 s, 4 s, ...
    and then every 5 minutes."""

    base: timedelta = timedelta(seconds=1)
    factor: float = 2.0
    cap: timedelta = timedelta(minutes=5)
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("retry base must be positive and no larger than the cap")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("retry factor must be >= 1 and jitter in [0, 1)")

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """The wait after the `attempts`-th failed attempt (1 for the first)."""
        exponent = min(max(attempts - 1, 0), _MAX_EXPONENT)
        seconds = min(self.cap.total_seconds(), self.base.total_seconds() * self.factor**exponent)
        return timedelta(seconds=seconds * (1 - self.jitter * rng.random()))


def signed_headers(
    endpoint: WebhookEndpoint, message: OutboxMessage, at: datetime
) -> dict[str, str]:
    """The request headers for one attempt of `message`, signed at `at`."""
    timestamp = datetime.fromtimestamp(floor(at.timestamp()), tz=UTC)
    signature = endpoint.signer().sign(message.id, timestamp, message.body.decode("utf-8"))
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message.id,
        "webhook-timestamp": str(floor(timestamp.timestamp())),
        "webhook-signature": signature,
    }


class WebhookDispatcher:
    """Delivers the outbox to the configured endpoints, one pass at a time or in a thread.

    `lease` is how long a claimed message is reserved for this dispatcher; it must outlast
    a pass (at most `batch_size` requests of the endpoint timeout) or another dispatcher on
    the same store may send the message too.
    """

    def __init__(
        self,
        outbox: OutboxStore,
        endpoints: Mapping[str, WebhookEndpoint],
        *,
        retry: RetrySchedule | None = None,
        poll_interval: float = 1.0,
        batch_size: int = 20,
        lease: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = utc_now,
        client: httpx.Client | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if poll_interval <= 0 or batch_size < 1 or lease <= timedelta(0):
            raise ValueError("poll_interval and lease must be positive, batch_size at least 1")
        self._outbox = outbox
        self._endpoints = dict(endpoints)
        self._retry = retry or RetrySchedule()
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._lease = lease
        self._clock = clock
        self._owns_client = client is None
        self._client = client
        self._rng = rng or random.Random()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported_unrouted: dict[str, int] = {}

    @property
    def channels(self) -> frozenset[str]:
        """The channels this dispatcher delivers."""
        return frozenset(self._endpoints)

    def deliver_due(self, now: datetime) -> int:
        """One pass: send every message due at `now` (up to the batch size); return how many
        were delivered. Failures are recorded on the messages, never raised; a store error
        is raised (the messages stay queued)."""
        return self._pass(now, interruptible=False)[1]

    def unrouted(self) -> dict[str, int]:
        """Undelivered messages per channel that has no endpoint: they wait, not dropped."""
        return {
            channel: count
            for channel, count in self._outbox.outbox_backlog().items()
            if channel not in self._endpoints
        }

    def start(self) -> None:
        """Deliver in a background thread, a pass every `poll_interval` seconds (at once
        again while passes come back full)."""
        if self._thread is not None:
            raise RuntimeError("the webhook dispatcher is already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="proctor-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after its current request and release the connections it opened;
        queued messages stay queued. The dispatcher may be started (or used) again."""
        thread, self._thread = self._thread, None
        self._stopping.set()
        if thread is not None:
            longest = max((e.timeout for e in self._endpoints.values()), default=0.0)
            thread.join(timeout=longest + self._poll_interval + 5)
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            claimed = 0
            try:
                claimed, _ = self._pass(self._clock(), interruptible=True)
            except Exception:
                logger.exception("webhook delivery pass failed; messages stay queued")
            if claimed < self._batch_size:
                self._stopping.wait(self._poll_interval)

    def _pass(self, now: datetime, *, interruptible: bool) -> tuple[int, int]:
        self._report_unrouted()
        if not self._endpoints:
            return 0, 0
        messages = self._outbox.claim_due(
            now, lease=self._lease, limit=self._batch_size, channels=self._endpoints.keys()
        )
        delivered = 0
        for message in messages:
            if interruptible and self._stopping.is_set():
                # Hand the rest back, due at once, rather than leave them claimed for a lease.
                self._outbox.mark_failed(message.id, "not sent: dispatcher stopped", now)
                continue
            delivered += self._attempt(message)
        return len(messages), delivered

    def _attempt(self, message: OutboxMessage) -> int:
        endpoint = self._endpoints[message.channel]
        error = self._post(endpoint, message)
        finished = self._clock()
        if error is None:
            if not self._outbox.mark_delivered(message.id, finished):
                logger.warning("webhook %s was already marked delivered", message.id)
            return 1
        retry_at = finished + self._retry.delay(message.attempts, self._rng)
        self._outbox.mark_failed(message.id, error, retry_at)
        logger.warning(
            "webhook %s to channel %s failed (attempt %d): %s; next attempt at %s",
            message.id,
            message.channel,
            message.attempts,
            error,
            retry_at.isoformat(),
        )
        return 0

    def _post(self, endpoint: WebhookEndpoint, message: OutboxMessage) -> str | None:
        """Send one attempt; None if the receiver accepted it, else why not."""
        try:
            response = self._http().post(
                endpoint.url,
                content=message.body,
                headers=signed_headers(endpoint, message, self._clock()),
                timeout=endpoint.timeout,
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.is_success:
            return None
        return f"HTTP {response.status_code} {response.reason_phrase}: {response.text[:200]}"

    def _http(self) -> httpx.Client:
        if self._client is None:
            # Redirects are not followed: a 3xx is a failed attempt, not a new destination.
            self._client = httpx.Client(follow_redirects=False)
        return self._client

    def _report_unrouted(self) -> None:
        unrouted = self.unrouted()
        if unrouted != self._reported_unrouted:
            for channel, count in sorted(unrouted.items()):
                logger.warning(
                    "%d webhook message(s) for channel %r wait: no endpoint is configured",
                    count,
                    channel,
                )
        self._reported_unrouted = unrouted
