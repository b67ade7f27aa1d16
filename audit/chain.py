"""Sequential checks over the lines of records.jsonl: seq order and session hash chains.

Fed one line outcome at a time, in file order, it reports each anomaly once, at the line
where it shows, and then resynchronises so that one missing record does not make every
later record look wrong:

- seq must continue the highest seq seen so far; a lower seq seen before is a duplicate,
  a lower unseen seq is out of order, a higher one means records are missing or reordered;
- within a session, session_seq continues by one and prev names the digest of the
  session's previous line; a session starts at session_seq 0 unless the bundle starts
  after seq 1 (then its chain may be anchored before the bundle).

A subset bundle (the complete chains of chosen sessions) is checked with `subset=True`: seq
must still rise from line to line, but gaps between the chosen sessions' records are
expected, and every session must start at session_seq 0 wherever the bundle starts.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from audit.problems import Code, ProblemList
from audit.verify_block import CleanRun
from audit.verify_facts import LineFailure, LineOutcome, RecordFacts


@dataclass(slots=True)
class _SessionState:
    session_seq: int
    digest: str | None  # None: the previous line failed its checks, prev cannot be compared
    seq: int | None
    line: int


class ChainChecker:
    """Accumulates seq and session-chain state across the lines of one bundle."""

    def __init__(
        self, first_seq: int | None, problems: ProblemList, *, subset: bool = False
    ) -> None:
        self._first_seq = first_seq  # None: unknown (no usable manifest), taken from line 1
        self._subset = subset
        self._problems = problems
        self._high: int | None = None  # highest seq seen
        self._seen_at = array("q")  # line number of seq first_seq + i, 0 = not seen
        self.lines = 0
        self.session_counts: dict[str, int] = {}
        self._sessions: dict[str, _SessionState] = {}

    @property
    def first_seq(self) -> int | None:
        return self._first_seq

    @property
    def high(self) -> int | None:
        return self._high

    @property
    def subset(self) -> bool:
        return self._subset

    def feed(self, outcome: LineOutcome) -> None:
        """Take the next line's outcome (line numbers are counted here, from 1)."""
        self.lines += 1
        line = self.lines
        if isinstance(outcome, LineFailure):
            self._feed_failure(line, outcome)
            return
        if self._first_seq is None:
            self._first_seq = outcome.seq
        if not self._check_seq(line, outcome.seq):
            return  # duplicate: reported, and must not advance the session chain
        self.session_counts[outcome.session_id] = self.session_counts.get(outcome.session_id, 0) + 1
        self._check_session(line, outcome)

    def feed_run(self, run: CleanRun, count: int) -> bool:
        """Take a clean block of `count` lines by its summary (`audit.verify_block`) when
        that is exactly what feeding its outcomes one by one would do: the block's first
        seq is the one expected, and each session's first record in it continues the
        session's chain (or may start it). Then the state moves past the block with no
        problem to report, at a cost per session rather than per record. Otherwise
        nothing changes and False says: feed this block line by line.
        """
        if self._subset:
            return False  # gaps between the chosen sessions' seqs: left to `feed`
        first_seq = run.first_seq
        base = self._first_seq if self._first_seq is not None else first_seq
        if first_seq != (self._high + 1 if self._high is not None else base):
            return False
        sessions = self._sessions
        for session in run.sessions:
            state = sessions.get(session.session_id)
            if state is None:
                if session.first_session_seq != 0 and base <= 1:
                    return False  # the session starts without its first record
            elif session.first_session_seq != state.session_seq + 1 or (
                state.digest is not None and session.first_prev != state.digest
            ):
                return False
        start = self.lines
        self._first_seq = base
        seen = self._seen_at
        offset = first_seq - base
        if offset == len(seen) and offset <= 2 * (start + 1) + 1024:
            seen.extend(range(start + 1, start + count + 1))  # as `_mark_seen` line by line
        else:
            for index in range(count):
                self.lines = start + index + 1  # `_offset` bounds by the lines read so far
                self._mark_seen(first_seq + index, start + index + 1)
        self.lines = start + count
        self._high = first_seq + count - 1
        counts = self.session_counts
        for session in run.sessions:
            name = session.session_id
            counts[name] = counts.get(name, 0) + session.records
            seq, line = first_seq + session.last_offset, start + session.last_offset + 1
            state = sessions.get(name)
            if state is None:
                sessions[name] = _SessionState(
                    session.last_session_seq, session.last_digest, seq, line
                )
            else:
                state.session_seq = session.last_session_seq
                state.digest = session.last_digest
                state.seq = seq
                state.line = line
        return True

    def _feed_failure(self, line: int, failure: LineFailure) -> None:
        code = _FAILURE_CODES.get(failure.reason, Code.RECORD_MALFORMED)
        seq_text = f" (claims seq {failure.claimed_seq})" if failure.claimed_seq is not None else ""
        self._problems.add(
            code, f"line {line}{seq_text}: {failure.message}", seq=failure.claimed_seq, line=line
        )
        # Keep our place: assume the bad line holds the seq it claims, or the next one.
        seq = failure.claimed_seq
        if seq is None or (self._high is not None and seq <= self._high):
            seq = (self._high if self._high is not None else (self._first_seq or 1) - 1) + 1
        if self._first_seq is None:
            self._first_seq = seq
        self._mark_seen(seq, line)
        self._high = seq if self._high is None else max(self._high, seq)
        if failure.claimed_session_id is not None and failure.claimed_session_seq is not None:
            session = failure.claimed_session_id
            self.session_counts[session] = self.session_counts.get(session, 0) + 1
            self._sessions[session] = _SessionState(failure.claimed_session_seq, None, None, line)

    def _check_seq(self, line: int, seq: int) -> bool:
        """Report a seq out of place; False if the line duplicates an earlier seq."""
        if self._high is not None:
            expected = self._high + 1
        else:
            expected = self._first_seq if self._first_seq is not None else seq
        if self._subset and self._high is not None and seq > self._high:
            expected = seq  # a gap between the chosen sessions' records is expected
        if seq != expected:
            earlier = self._seen_line(seq)
            if earlier:
                self._problems.add(
                    Code.SEQ_GAP,
                    f"line {line}: seq {seq} duplicates line {earlier} (expected seq {expected})",
                    seq=seq,
                    line=line,
                )
                return False
            if seq > expected:
                missing = (
                    f"record {expected}"
                    if seq == expected + 1
                    else (f"records {expected}..{seq - 1}")
                )
                reason = f"{missing} missing or reordered"
            else:
                reason = "out of order"
            self._problems.add(
                Code.SEQ_GAP,
                f"line {line}: expected seq {expected}, found seq {seq} ({reason})",
                seq=seq,
                line=line,
            )
        self._mark_seen(seq, line)
        self._high = seq if self._high is None else max(self._high, seq)
        return True

    def _check_session(self, line: int, facts: RecordFacts) -> None:
        """Check `facts` against its session's previous record and advance the session.

        Runs once per record in the verifier's main process, which shares the cores with
        the line-checking workers, so the usual case does no avoidable work: the location
        text is formatted only for a problem, and a known session's state is updated in
        place rather than replaced.
        """
        state = self._sessions.get(facts.session_id)
        if state is None:
            anchored_before = (
                not self._subset and self._first_seq is not None and self._first_seq > 1
            )
            if facts.session_seq != 0 and not anchored_before:
                self._problems.add(
                    Code.SESSION_CHAIN,
                    f"{_where(line, facts)}: first record of the session has session_seq "
                    f"{facts.session_seq}, expected 0 (earlier records of the session missing)",
                    seq=facts.seq,
                    line=line,
                )
            self._sessions[facts.session_id] = _SessionState(
                facts.session_seq, facts.digest, facts.seq, line
            )
            return
        if facts.session_seq != state.session_seq + 1:
            self._problems.add(
                Code.SESSION_CHAIN,
                f"{_where(line, facts)}: expected session_seq {state.session_seq + 1}, found "
                f"{facts.session_seq} (previous record of the session is at line {state.line})",
                seq=facts.seq,
                line=line,
            )
        elif state.digest is not None and facts.prev != state.digest:
            self._problems.add(
                Code.SESSION_CHAIN,
                f"{_where(line, facts)}: prev {facts.prev} is not the digest {state.digest} of "
                f"the session's previous record (line {state.line}, seq {state.seq})",
                seq=facts.seq,
                line=line,
            )
        state.session_seq = facts.session_seq
        state.digest = facts.digest
        state.seq = facts.seq
        state.line = line

    def _offset(self, seq: int) -> int | None:
        """Index of `seq` in the seen-table, if it is in a plausible range to track."""
        base = self._first_seq if self._first_seq is not None else 1
        offset = seq - base
        # Never grow the table far beyond the lines read: a forged huge seq must not
        # make the verifier allocate memory for it.
        if offset < 0 or offset > 2 * self.lines + 1024:
            return None
        return offset

    def _seen_line(self, seq: int) -> int:
        offset = self._offset(seq)
        if offset is None or offset >= len(self._seen_at):
            return 0
        return self._seen_at[offset]

    def _mark_seen(self, seq: int, line: int) -> None:
        offset = self._offset(seq)
        if offset is None:
            return
        seen = self._seen_at
        if offset == len(seen):  # the usual case, the next seq: one append, no list built
            seen.append(line)
            return
        if offset > len(seen):
            seen.extend([0] * (offset + 1 - len(seen)))
        if not seen[offset]:
            seen[offset] = line


def _where(line: int, facts: RecordFacts) -> str:
    """Where a session-chain problem shows, as its message begins."""
    return f"line {line} (seq {facts.seq}), session {facts.session_id!r}"


_FAILURE_CODES = {
    "malformed": Code.RECORD_MALFORMED,
    "payload-invalid": Code.RECORD_MALFORMED,
    "not-canonical": Code.RECORD_NOT_CANONICAL,
    "payload-type": Code.RECORD_PAYLOAD_TYPE,
    "unknown-key": Code.RECORD_UNKNOWN_KEY,
    "bad-signature": Code.RECORD_SIGNATURE,
}
