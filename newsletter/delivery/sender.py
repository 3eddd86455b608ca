"""Sending: drain the outbox through a transport, record every result, pause when told to.

Rules (documented in docs/delivery.md and tested):

* **Claim, commit, send, record.** A batch is claimed (leased to this
  worker) and committed before any SMTP I/O; results are recorded after the
  batch. A crash between the two leaves rows ``sending`` until the worker is
  found dead (heartbeats: within seconds, :mod:`newsletter.delivery.heartbeat`)
  or their lease expires; they are then sent again with the same Message-ID.
  Results are recorded every ``RECORD_EVERY`` (50) messages, so duplicates are
  bounded by the messages in flight: ``smtp_pool_size × 50`` per crashed process.
  A batch slower than half its lease records what it sent and renews the rest.
* **Deferred** (4xx, relay unreachable): exponential backoff
  (:class:`~newsletter.delivery.backoff.BackoffPolicy`); past the give-up age
  the row fails with "gave up". **Throttled** (421/454 rate replies): retried
  after a short delay, the send slows down, and it counts as no failure.
* **Unknown** (connection lost after the final "."): the relay may have the
  message. It is retried once after ``delivery_unknown_retry_seconds`` with
  the same Message-ID (receivers drop the copy they already have); if that
  attempt is unknown again, the row stays ``unknown`` for good.
* **Pauses.** 5.1.x on RCPT fails the row and suppresses the address; 5.7.x
  fails the row, pauses its issue and raises an alert; a burst of permanent
  errors (``delivery_pause_after_failures`` in one run) pauses the issue; 5xx
  on MAIL FROM, a TLS or login failure pauses everything (configuration).
  Paused rows stay queued; ``newsletter resume`` lifts the pause.
* **One connection per batch, one round trip per message.** With PIPELINING
  the transport writes a message's end and the next envelope together
  (:meth:`~newsletter.delivery.smtp.SMTPConnection.send_all`). When an
  outcome pauses the next message's issue, or the run stops, the session is
  dropped before that message's content, and its row is given back untouched.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from newsletter.audience import people
from newsletter.db.models import DeliveryStatus, SubscriptionStatus
from newsletter.db.transactions import database_error
from newsletter.delivery.backoff import BackoffPolicy
from newsletter.delivery.claims import (
    Claimed,
    Result,
    claim,
    paused_everything,
    record,
    renew,
)
from newsletter.delivery.clicks import ClickTracker
from newsletter.delivery.compose import Composer
from newsletter.delivery.editions import load_compiled
from newsletter.delivery.heartbeat import Registration
from newsletter.delivery.mime import wire_address
from newsletter.delivery.outcome import Outcome, Verdict
from newsletter.delivery.outgoing import Outgoing
from newsletter.delivery.pacing import SendPacer
from newsletter.delivery.status import open_pause
from newsletter.delivery.transport import Transport
from newsletter.errors import NewsletterError
from newsletter.hooks import outbox as hooks
from newsletter.render.compiled import CompiledEmail

if TYPE_CHECKING:
    from newsletter.app import App

SENDING = "sending"  # what the database was doing, for its error message
# Results are recorded after this many messages, whatever the size of the claim: claims
# are large because each costs a handful of statements, and what a crash can send twice
# (sent, not yet recorded) stays small.
RECORD_EVERY = 50
log = logging.getLogger("newsletter.delivery")
Progress = Callable[[int], None]


class HaltFlag(Protocol):
    """Set from outside to stop after the current batches (a threading or process Event)."""

    def is_set(self) -> bool: ...


@dataclass
class SendSummary:
    """What one drain did, by outcome."""

    counts: Counter[str] = field(default_factory=Counter)
    alerts: list[str] = field(default_factory=list)
    stopped: str | None = None

    @property
    def attempted(self) -> int:
        """Rows claimed and tried (suppressed ones included)."""
        return sum(self.counts.values())

    def describe(self) -> str:
        """One line for people."""
        parts = [f"{key} {value}" for key, value in sorted(self.counts.items()) if value]
        return ", ".join(parts) or "nothing was due"


class SendRun:
    """One drain: ``transport.size`` threads claim batches, send them and record the results.

    The threads share this object: the row budget (``limit``), the summary,
    the failure counts that pause an issue, and the stop flag set by a
    configuration error, an unreachable relay or a crash of one thread.
    """

    def __init__(self, app: App, transport: Transport, limit: int | None,
                 progress: Progress | None, limiter: SendPacer, worker: Registration,
                 halt: HaltFlag | None = None) -> None:
        settings = app.settings
        self.app = app
        self.worker = worker
        self.halt = halt  # set from outside (SIGTERM): stop after the current batch
        self.transport = transport
        self.progress = progress
        self.limiter = limiter
        self.composer = Composer(settings, app.renderer, app.links, signer=app.dkim.current(),
                                 editions=self.load_edition, clicks=ClickTracker(app))
        self.policy = BackoffPolicy(
            base=settings.delivery_backoff_base_seconds, cap=settings.delivery_backoff_cap_seconds,
            give_up=settings.delivery_give_up_seconds,
            throttle_delay=settings.delivery_throttle_delay_seconds)
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)
        self.batch = settings.delivery_batch_size
        # A paced send waits between messages: it finishes each before taking the next,
        # so the relay is never kept waiting in the middle of one.
        self.lookahead = not limiter.paced
        self.envelope_from = settings.envelope_from
        self.remaining = limit
        self.summary = SendSummary()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.failures: Counter[int] = Counter()
        self.paused_issues: set[int] = set()
        self.pauses_opened: set[int | None] = set()
        self.errors: list[BaseException] = []

    def load_edition(self, edition_id: int) -> CompiledEmail:
        """The compiled email of a frozen edition (once per edition and run)."""
        with self.app.db.read(SENDING) as session:
            return load_compiled(session, edition_id)

    def take(self, wanted: int) -> int:
        """How many rows the next claim may take (``wanted``, within ``limit``)."""
        with self.lock:
            if self.remaining is None:
                return wanted
            size = min(wanted, self.remaining)
            self.remaining -= size
            return size

    def loop(self) -> None:
        """One sending thread: claim, commit, send, record, until nothing is due or told to stop.

        Claims start at ``RECORD_EVERY`` rows and double while they come back full, up
        to ``delivery_batch_size``: a large send soon claims in large batches (fewer
        statements per message), while a small one is still spread over every
        process and host instead of going to the first thread that asks.
        """
        wanted = min(RECORD_EVERY, self.batch)
        try:
            while not self.stop.is_set():
                if self.halt is not None and self.halt.is_set():
                    return
                size = self.take(wanted)
                if size <= 0:
                    return
                with self.app.db.write(SENDING) as session:
                    if paused_everything(session):
                        return
                    rows = claim(session, now=self.app.clock.now(), lease=self.lease, limit=size,
                                 worker_id=self.worker.id)
                if not rows:
                    return
                self.send_batch(rows)
                if len(rows) == size:
                    wanted = min(2 * wanted, self.batch)
        except BaseException as err:  # surfaced by drain() after the threads end
            self.errors.append(err)
            self.stop.set()

    def send_batch(self, rows: list[Claimed]) -> None:
        """Send one claimed batch over one connection; renew its leases when the relay is slow.

        The transport may take the next message while this one is in DATA (its envelope
        goes out with this message's end). When an outcome pauses that next message's
        issue, or the run stops, the stream is closed: the connection is dropped before
        any of that message's content went out, and its row goes back to the queue.
        """
        batch = _Batch(self.app.clock.now())
        stream = self.outgoing(rows, batch)
        sending = self.transport.send_all(stream, lookahead=self.lookahead)
        try:
            for item, outcome in sending:
                self.settle(batch, item.key, outcome)
                ahead = batch.handed
                if ahead is not None and ahead is not item.key and self.held(ahead):
                    break
        finally:
            sending.close()
            stream.close()
        unsent = [row for row in rows if row.id not in batch.settled]
        now = self.app.clock.now()
        if batch.relay_down is not None:
            # This thread found the relay unreachable: the rest of the batch waits too.
            batch.results += [self.result(row, batch.relay_down, now) for row in unsent]
        else:
            # Give unsent rows back untouched (no penalty): paused or stopping.
            batch.results += [Result(row.id, row.attempts, DeliveryStatus.QUEUED,
                                     next_attempt_at=now) for row in unsent]
        batch.take_and(self.flush)

    def held(self, row: Claimed) -> bool:
        """Whether ``row`` must not go out now: the run stops, or its issue was paused."""
        return self.stop.is_set() or row.issue_id in self.paused_issues

    def outgoing(self, rows: list[Claimed],
                 batch: _Batch) -> Generator[Outgoing[Claimed], None, None]:
        """The batch's messages, built one at a time as the transport asks for them."""
        for index, row in enumerate(rows):
            if self.app.clock.now() - batch.leased_at > self.lease / 2:
                # A slow relay: record what went out so far, and keep the rest of the
                # batch ours (the message in flight too) so nobody reclaims it meanwhile.
                batch.take_and(self.flush)
                batch.leased_at = self.app.clock.now()
                with self.app.db.write(SENDING) as session:
                    renew(session, rows[max(index - 1, 0):], batch.leased_at + self.lease)
            if self.held(row):
                return
            try:
                data = self.composer.compose(row, self.app.clock.now())
            except NewsletterError as err:  # per-recipient isolation (#19)
                self.settle(batch, row, Outcome(Verdict.FAILED,
                                                f"could not build the message: {err}"))
                continue
            self.limiter.acquire()
            batch.handed = row
            yield Outgoing(self.mail_from(row), _rcpt(row), data, row)

    def settle(self, batch: _Batch, row: Claimed, outcome: Outcome) -> None:
        """Keep one attempt's result, react to it, and record every ``RECORD_EVERY``."""
        batch.results.append(self.result(row, outcome, self.app.clock.now()))
        batch.effects.append((row, outcome))
        batch.settled.add(row.id)
        self.react(row, outcome)
        if outcome.relay_down:
            # The relay is unreachable: defer the rest of the batch and stop this run.
            batch.relay_down = outcome
            self.stop_with(f"relay unreachable: {outcome.detail}")
        if len(batch.results) >= RECORD_EVERY:
            # Record as we go: a crash repeats at most these, not the whole claim.
            batch.take_and(self.flush)

    def mail_from(self, row: Claimed) -> str:
        """The envelope sender: the delivery's own VERP address (#46), or the fixed one."""
        if self.app.settings.verp_enabled:
            return self.app.verp.address(row.id)
        return self.envelope_from

    def flush(self, results: list[Result], effects: list[tuple[Claimed, Outcome]]) -> None:
        """Record results and their side effects in one transaction; count them."""
        if not results:
            return
        now = self.app.clock.now()
        with self.app.db.write(SENDING) as session:
            record(session, results, now)
            for row, outcome in effects:
                self.side_effects(session, row, outcome, now)
            hooks.emit_issues_finished(session, [result.id for result in results], now)
        with self.lock:
            for result in results:
                self.summary.counts[_label(result)] += 1
        if self.progress is not None:
            self.progress(len(results))

    def result(self, row: Claimed, outcome: Outcome, now: datetime) -> Result:
        """What to record for one attempt, by the rules in the module docstring."""
        verdict = outcome.verdict
        msg_id = self.composer.message_id(row)
        if verdict == Verdict.SENT:
            return Result(row.id, row.attempts, DeliveryStatus.SENT, message_id=msg_id)
        if verdict == Verdict.THROTTLED:
            return Result(row.id, row.attempts, DeliveryStatus.DEFERRED, outcome.detail,
                          self.policy.after_throttle(now), msg_id)
        if verdict in (Verdict.DEFERRED, Verdict.CONFIG):
            at = (now if verdict == Verdict.CONFIG
                  else self.policy.next_attempt(row.attempts, row.queued_at, now))
            if at is None:
                return Result(row.id, row.attempts, DeliveryStatus.FAILED,
                              f"gave up after {row.attempts} attempts: {outcome.detail}")
            return Result(row.id, row.attempts, DeliveryStatus.DEFERRED, outcome.detail, at,
                          msg_id)
        if verdict == Verdict.UNKNOWN:
            again = (None if row.previous_status == DeliveryStatus.UNKNOWN else
                     now + timedelta(seconds=self.app.settings.delivery_unknown_retry_seconds))
            return Result(row.id, row.attempts, DeliveryStatus.UNKNOWN, outcome.detail, again,
                          msg_id)
        return Result(row.id, row.attempts, DeliveryStatus.FAILED, outcome.detail,
                      message_id=msg_id)

    def react(self, row: Claimed, outcome: Outcome) -> None:
        """Slow down, stop, or count a failure towards the issue's pause, right after a send."""
        if outcome.verdict == Verdict.THROTTLED:
            self.limiter.slow_down(self.policy.throttle_delay)
        elif outcome.verdict == Verdict.CONFIG:
            self.stop_with(f"configuration error: {outcome.detail}")
        elif outcome.counts_as_failure and row.issue_id is not None:
            with self.lock:
                self.failures[row.issue_id] += 1
                limit = self.app.settings.delivery_pause_after_failures
                burst = self.failures[row.issue_id] >= limit
                if outcome.verdict == Verdict.POLICY or burst:
                    self.paused_issues.add(row.issue_id)

    def stop_with(self, reason: str) -> None:
        """Stop every thread of this run, keeping the first reason for the summary."""
        with self.lock:
            if self.summary.stopped is None:
                self.summary.stopped = reason
        self.stop.set()

    def side_effects(self, session: Session, row: Claimed, outcome: Outcome,
                     now: datetime) -> None:
        """Suppress a hard bounce; open the pauses this outcome calls for (with the results)."""
        if outcome.verdict == Verdict.BOUNCED:
            people.block_person(session, row.subscriber_id, row.email,
                                SubscriptionStatus.BOUNCED, now)
        elif outcome.verdict == Verdict.CONFIG:
            if self.first_pause(None):
                open_pause(session, None, f"configuration error: {outcome.detail}", now)
                self.alert(f"sending paused for everything: {outcome.detail}")
        elif row.issue_id is not None and row.issue_id in self.paused_issues:
            failures = self.failures[row.issue_id]
            reason = (f"policy block: {outcome.detail}" if outcome.verdict == Verdict.POLICY
                      else f"{failures} permanent errors, last: {outcome.detail}")
            if self.first_pause(row.issue_id) and open_pause(session, row.issue_id, reason, now):
                self.alert(f"issue {row.series_slug}/{row.position} paused: {reason}")

    def first_pause(self, issue_id: int | None) -> bool:
        """True the first time this run pauses ``issue_id`` (None: everything)."""
        # Sending threads record results concurrently; one pause row per scope and run.
        with self.lock:
            if issue_id in self.pauses_opened:
                return False
            self.pauses_opened.add(issue_id)
            return True

    def alert(self, message: str) -> None:
        """Log a warning and keep it for the summary."""
        log.warning(message)
        with self.lock:
            self.summary.alerts.append(message)


@dataclass
class _Batch:
    """One claimed batch in progress: results not yet recorded, and when its lease began."""

    leased_at: datetime
    results: list[Result] = field(default_factory=list)
    effects: list[tuple[Claimed, Outcome]] = field(default_factory=list)
    settled: set[int] = field(default_factory=set)  # rows with a result, recorded or not
    handed: Claimed | None = None  # the last row given to the transport
    relay_down: Outcome | None = None  # this thread could not reach the relay

    def take_and(self, flush: Callable[[list[Result], list[tuple[Claimed, Outcome]]], None],
                 ) -> None:
        """Hand the pending results to ``flush`` and start afresh."""
        results, effects = self.results, self.effects
        self.results, self.effects = [], []
        flush(results, effects)


def _rcpt(row: Claimed) -> str:
    try:
        return wire_address(row.email)
    except NewsletterError:
        return row.email


def _label(result: Result) -> str:
    return "released" if result.status == DeliveryStatus.QUEUED else str(result.status)


def drain(app: App, *, limit: int | None = None, progress: Progress | None = None,
          transport: Transport | None = None, limiter: SendPacer | None = None,
          worker: Registration | None = None, halt: HaltFlag | None = None,
          ) -> SendSummary:
    """Send everything due now (at most ``limit`` rows) and return what happened.

    Without a ``transport`` one is made from the App for this drain and closed after it.
    Without a ``worker`` registration, this drain registers (and heartbeats) as a worker
    of its own for its duration. ``halt`` stops it after the current batches.
    A database error stops the run; claims already committed stay leased to this
    worker and go back to the queue when it is found dead, or when its lease expires.
    """
    settings = app.settings
    own = transport is None
    chosen = transport if transport is not None else app.transport()
    limiter = limiter or SendPacer(settings.smtp_rate_per_second, settings.smtp_rate_per_hour)
    registration = worker
    if registration is None:
        try:
            registration = Registration(app).start()
        except BaseException:
            if own:
                chosen.close()
            raise
    run = SendRun(app, chosen, limit, progress, limiter, registration, halt)
    threads = [threading.Thread(target=run.loop, name=f"send-{n}", daemon=True)
               for n in range(max(chosen.size, 1))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        if own:
            chosen.close()
        if worker is None:
            registration.close()
    if run.errors:
        error = run.errors[0]
        if isinstance(error, OperationalError):  # a read outside app.db
            raise database_error(error, SENDING) from error
        raise error
    return run.summary
