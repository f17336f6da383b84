"""Sending: in one transaction, claim due nudges, ask the rules again with fresh
facts, render what still applies as one message per person and slot, write it
to the outbox, and record what became of every nudge.

Outcomes of a claimed nudge:
- sent: it went out in the outbox row `outbox_id` (with the other nudges of
  its slot);
- skipped: it was due but cannot go in time any more: more than the grace
  period late (downtime), or the person's quiet hours have begun;
- cancelled: it no longer applies (paused, came back, finished, new time...).

A working-group nudge (kind "admin", from /nudge) is due at once and belongs
to no slot; it is checked against the person's own settings again here and
sent as its own message. A follow-up (kind "followup") belongs to its slot's
check-in but leaves later, as its own message, only if that check-in went
and is still unanswered (`rules.followup_skip`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from content.loader import Content
from handlers import metrics
from handlers.messages import Reply
from handlers.reminders.facts import Story, load_facts, load_stories
from handlers.reminders.render import render_admin_nudge, render_followup, render_nudges
from handlers.reminders.rules import (
    ADMIN,
    CHECKIN,
    COMEBACK,
    FOLLOWUP,
    GOAL,
    HOLDOUT,
    INACTIVE,
    LADDER,
    RECALL,
    STUCK,
    Facts,
    RecallFacts,
    Slot,
    Thresholds,
    evaluate,
    followup_skip,
    in_quiet,
    may_nudge_now,
    parse_slot_key,
    withheld,
)
from storage import best_hour as hour_queries
from storage import nudges as queries
from storage.accounts import Account, reachable
from storage.models.nudges import CANCELLED, SENT, SKIPPED
from storage.outbox import NewMessage, enqueue


@dataclass
class SendReport:
    """What one send transaction did."""

    people: int = 0
    messages: int = 0
    sent: int = 0
    skipped: int = 0
    cancelled: int = 0
    held_back: bool = False  # stopped because enough nudges already wait in the outbox
    skipped_by: Counter[str] = field(default_factory=Counter)  # reason -> nudges

    def add(self, other: SendReport) -> None:
        self.people += other.people
        self.messages += other.messages
        self.sent += other.sent
        self.skipped += other.skipped
        self.cancelled += other.cancelled
        self.held_back = self.held_back or other.held_back
        self.skipped_by.update(other.skipped_by)

    def count(self) -> None:
        """Add what this (committed) report did to the process's metrics."""
        metrics.NUDGES.labels("sent", "").inc(self.sent)
        metrics.NUDGES.labels("cancelled", "").inc(self.cancelled)
        for reason, number in self.skipped_by.items():
            metrics.NUDGES.labels("skipped", reason).inc(number)


def _slot_of(nudge: Any) -> tuple[datetime, str, str]:
    """Nudges that leave together: one slot's, one follow-up, or one working-group nudge."""
    return (nudge.due_at, nudge.slot, nudge.kind if nudge.kind in (ADMIN, FOLLOWUP) else "slot")


@dataclass
class _Person:
    """One locked person's state while their nudges are decided."""

    facts: Facts
    story: Story | None
    account: Account | None


class _Batch:
    """Collects outcomes, outbox rows and counters, then writes them at once."""

    def __init__(self, now: datetime, worker: str) -> None:
        self.now = now
        self.worker = worker
        self.outcomes: dict[int, dict] = {}
        self.messages: list[tuple[NewMessage, list[Any]]] = []
        self.counters: dict[int, Facts] = {}
        self.hours: dict[int, dict] = {}  # message index -> the coach's hour it went at
        self.report = SendReport()

    def finish(self, nudge: Any, status: str, reason: str | None = None) -> None:
        self.outcomes[nudge.id] = {
            "id": nudge.id,
            "status": status,
            "reason": reason,
            "claimed_by": self.worker,
            "sent_at": None,
            "outbox_id": None,
        }
        if status == SKIPPED:
            self.report.skipped += 1
            self.report.skipped_by[reason or "other"] += 1
        elif status == CANCELLED:
            self.report.cancelled += 1

    def message(self, person: _Person, key: str, reply: Reply, nudges: list[Any]) -> None:
        """One outbox message for `nudges`; `key` makes it at most once per person and slot."""
        account = person.account
        assert account is not None
        message = NewMessage(
            channel=account.channel,
            chat_id=account.chat_id,
            account_id=account.id,
            kind="nudge",
            payload=[reply.to_json()],
            dedupe_key=f"nudge:{person.facts.person_id}:{key}",
        )
        self.messages.append((message, nudges))
        for nudge in nudges:
            self.finish(nudge, SENT)

    async def write(self, session: AsyncSession) -> None:
        """Outbox rows first (for their ids), then the nudges and counters."""
        written = await enqueue(session, [message for message, _ in self.messages], self.now)
        for index, (_, nudges) in enumerate(self.messages):
            outbox_id = written.get(index)
            for nudge in nudges:
                if outbox_id is None:  # a message for this slot exists already
                    self.finish(nudge, CANCELLED, "slot_sent")
                    continue
                self.outcomes[nudge.id].update(status=SENT, sent_at=self.now, outbox_id=outbox_id)
                self.report.sent += 1
            if outbox_id is not None:
                self.report.messages += 1
        await queries.finish_nudges(session, list(self.outcomes.values()))
        await hour_queries.mark_sent(
            session, [hour for index, hour in self.hours.items() if written.get(index) is not None]
        )
        await queries.save_counters(
            session, [_counter_row(f, self.now) for f in self.counters.values()]
        )


def _counter_row(facts: Facts, now: datetime) -> dict:
    return {
        "person_id": facts.person_id,
        "last_sent_at": now,
        "ignored": facts.ignored,
        "last_due_at": facts.last_due_at,
        "last_inactive_due": facts.last_inactive_due,
        "last_stuck_due": facts.last_stuck_due,
        "goals_nudged": dict(facts.goals_nudged),
        "unanswered": facts.unanswered,
        "last_checkin_due": facts.last_checkin_due,
        "ladder_told_at": facts.ladder_told_at,
        "comeback_for": facts.comeback_for,
    }


def _after_sending(facts: Facts, slot: Slot, kinds: tuple[str, ...]) -> Facts:
    """The person's facts once this slot's message has gone."""
    assert slot.due_at is not None
    changes: dict = {"last_due_at": slot.due_at}
    if LADDER in kinds:
        changes["ladder_told_at"] = slot.due_at
    else:  # one more reminder in a row waiting for an answer
        changes["unanswered"] = facts.unanswered + 1
    if CHECKIN in kinds:
        changes["last_checkin_due"] = slot.due_at
    if COMEBACK in kinds and slot.plan_day is not None:
        changes["comeback_for"] = slot.plan_day
    if INACTIVE in kinds:
        changes.update(ignored=facts.ignored + 1, last_inactive_due=slot.due_at)
    if STUCK in kinds:
        changes["last_stuck_due"] = slot.due_at
    if GOAL in kinds:
        nudged = dict(facts.goals_nudged)
        for goal in facts.goals:
            if goal.id in slot.goal_ids and goal.target_date is not None:
                nudged[str(goal.id)] = goal.target_date.isoformat()
        changes["goals_nudged"] = nudged
    if RECALL in kinds:
        entries = tuple(e for e in facts.recall.entries if e.id != slot.recall_id)
        changes["recall"] = RecallFacts(entries, slot.due_at)
    return replace(facts, **changes)


def _late_reason(person: _Person, due_at: datetime, now: datetime, th: Thresholds) -> str | None:
    """Why a due slot can no longer go at all: too late, or quiet hours now."""
    if now - due_at > th.grace:
        return "late"
    prefs = person.facts.prefs
    if prefs is not None:
        local_now = now.astimezone(ZoneInfo(person.facts.tz)).time()
        if in_quiet(local_now, prefs.quiet_start, prefs.quiet_end):
            return "quiet_now"
    return None


def _decide_slot(
    batch: _Batch,
    person: _Person,
    nudges: list[Any],
    *,
    content: Content,
    th: Thresholds,
) -> None:
    """Send, skip or cancel the nudges of one person's slot."""
    due_at = nudges[0].due_at
    late = _late_reason(person, due_at, batch.now, th)
    if late is not None:
        for nudge in nudges:
            batch.finish(nudge, SKIPPED, late)
        return
    day, _ = parse_slot_key(nudges[0].slot)
    slot = evaluate(person.facts, th, day)
    going = []
    for nudge in nudges:
        if slot.due_at != nudge.due_at:
            batch.finish(nudge, CANCELLED, slot.blocked or "rescheduled")
        elif nudge.kind not in slot.kinds:
            batch.finish(nudge, CANCELLED, slot.skip.get(nudge.kind, "not_wanted"))
        elif nudge.kind == RECALL and (nudge.detail or {}).get("entry") != slot.recall_id:
            # it records which entry was asked about: a different one now is a new question
            batch.finish(nudge, CANCELLED, "other_entry")
        elif person.account is None or person.story is None:
            batch.finish(nudge, CANCELLED, "unreachable")
        else:
            going.append(nudge)
    if not going:
        return
    kinds = tuple(k for k in slot.kinds if k in {n.kind for n in going})
    assert person.account is not None and person.story is not None
    reply = render_nudges(
        content,
        person.facts,
        person.story,
        th,
        kinds=kinds,
        day=day,
        due_at=due_at,
        goal_ids=slot.goal_ids,
        nudge_ids=[n.id for n in going],
        plan_day=slot.plan_day,
        recall_id=slot.recall_id,
    )
    batch.message(person, slot.key, reply, going)
    # A message at the coach's hour: learn from it. Not from the ladder's pause
    # notice: it is no check-in (its answer is a tap on resume), and it does not
    # carry the notice of a move either (that rides the next message).
    if person.facts.hours is not None and LADDER not in kinds:
        learned = person.facts.hours.get(day)
        batch.hours[len(batch.messages) - 1] = {
            "person_id": person.facts.person_id,
            "day": day,
            "due_at": due_at,
            "notice": bool(learned and learned.notice),
        }
    person.facts = _after_sending(person.facts, slot, kinds)
    batch.counters[person.facts.person_id] = person.facts


def _decide_followup(
    batch: _Batch, person: _Person, nudges: list[Any], *, content: Content, th: Thresholds
) -> None:
    """Send or cancel the follow-up of one slot's check-in (at most one: the
    unique key allows one per slot, and it goes only while unanswered)."""
    nudge = nudges[0]
    for extra in nudges[1:]:
        batch.finish(extra, CANCELLED, "slot_sent")
    late = _late_reason(person, nudge.due_at, batch.now, th)
    if late is not None:
        batch.finish(nudge, SKIPPED, late)
        return
    day, _ = parse_slot_key(nudge.slot)
    reason = followup_skip(person.facts, th, day, nudge.due_at)
    if reason is None and (person.account is None or person.story is None):
        reason = "unreachable"
    if reason is not None:
        batch.finish(nudge, CANCELLED, reason)
        return
    assert person.story is not None
    reply = render_followup(content, person.facts, person.story, nudge_ids=[nudge.id])
    batch.message(person, f"{nudge.slot}:f", reply, [nudge])
    batch.counters[person.facts.person_id] = person.facts


def _decide_admin(batch: _Batch, person: _Person, nudges: list[Any], *, content: Content) -> None:
    """Send or cancel a working-group nudge (one a day: its slot is the day)."""
    nudge = nudges[0]
    for extra in nudges[1:]:  # the unique key allows one per day; anything else is stale
        batch.finish(extra, CANCELLED, "slot_sent")
    if withheld(person.facts, ADMIN):
        batch.finish(nudge, CANCELLED, HOLDOUT)
        return
    if not may_nudge_now(person.facts, batch.now):
        batch.finish(nudge, CANCELLED, "not_now")
        return
    if person.account is None or person.story is None:
        batch.finish(nudge, CANCELLED, "unreachable")
        return
    detail = nudge.detail or {}
    reply = render_admin_nudge(
        content,
        person.facts,
        person.story,
        agency_name=str(detail.get("agency_name", "")),
        idle_days=int(detail.get("idle_days", 0)),
        nudge_ids=[nudge.id],
    )
    batch.message(person, nudge.slot, reply, [nudge])
    # It counts as a nudge the person may answer; it is no slot and no "inactive"
    # nudge, so their slots and back-off stay as they were.
    batch.counters[person.facts.person_id] = person.facts


async def send_due(
    session: AsyncSession,
    *,
    content: Content,
    th: Thresholds,
    now: datetime,
    worker: str,
    channels: Sequence[str],
    limit: int,
    person_ids: Sequence[int] | None = None,
    default_tz: str = "Asia/Bangkok",
) -> SendReport:
    """One batch: lock up to `limit` people with due nudges and settle all of them.

    Call inside one transaction; the caller loops while `people` comes back non-zero.
    """
    people = await queries.lock_due_people(
        session, now=now, channels=channels, limit=limit, person_ids=person_ids
    )
    if not people:
        return SendReport()
    nudges = await queries.claim_nudges(session, people, now, worker)
    facts = await load_facts(session, people, default_tz)
    stories = await load_stories(session, people)
    accounts = await reachable(session, people, channels)
    batch = _Batch(now, worker)
    batch.report.people = len(people)
    for person_id, own in groupby(nudges, key=lambda n: n.person_id):
        person = _Person(facts[person_id], stories.get(person_id), accounts.get(person_id))
        for (_, _, kind_group), slot_nudges in groupby(own, key=_slot_of):
            group = list(slot_nudges)
            if _late_reason(person, group[0].due_at, batch.now, th) == "late":
                for nudge in group:
                    batch.finish(nudge, SKIPPED, "late")
            elif kind_group == ADMIN:
                _decide_admin(batch, person, group, content=content)
            elif kind_group == FOLLOWUP:
                _decide_followup(batch, person, group, content=content, th=th)
            else:
                _decide_slot(batch, person, group, content=content, th=th)
    await batch.write(session)
    return batch.report
