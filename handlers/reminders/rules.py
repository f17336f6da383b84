"""The reminder rules, as pure functions of what is known about a person.

The planner asks them which nudges belong in a coming slot; the sender asks
them again, with fresh facts, when the slot falls due. Both get the same
answer from the same code, so a nudge is sent only if it still applies.

The rules, in words:
- A person's slot is their reminder time on each day that is allowed: one of
  their weekdays, not a weekend unless their agency allows weekends, not a
  Thai public holiday unless their agency allows holidays, not inside a pause
  (paused through `paused_until`, inclusive). A time inside the person's
  quiet hours moves to the end of the quiet hours, if that is the same day;
  otherwise that day has no slot.
- No slot for people who have not finished onboarding, turned reminders off,
  finished their journey, or wrote to the bot after the slot's moment.
- Active person (wrote within `inactive_days` before the slot; days on
  pause do not count as silence):
  "checkin" every slot; "stuck" when nothing moved on the current step for
  `stuck_days` (at most once every `stuck_days`); "goal" when a goal's target
  date is between the slot's day and `goal_days_before` days later (once per
  goal and date).
  "recall" (an extra nudge) asks about one learning entry of the current round
  (see `recall_due`): the newest written `recall_days` to `recall_days +
  RECALL_WINDOW_DAYS` days before the slot and not asked about yet, at most
  one recall every `recall_days`; so every entry is asked about at most once.
- Inactive person: only "inactive". The first goes in the first slot; after
  the n-th ignored one the next waits `backoff_days * 2**(n-1)` days; after
  `max_ignored` ignored ones nothing more goes until the person writes.
- The ladder: after `max_unanswered` slot messages in a row with no answer
  (`unanswered`; writing anything resets it), reminders pause themselves: the
  next slot that would carry a message carries only "ladder", which tells the
  person so once, with a one-tap resume; then nothing until they write (or
  tap it). An inactive person's back-off still spaces it, and one who had the
  last inactive nudge ("I will not write again") needs no second notice.
- A missed plan day: a person on step 4 or 5 whose if-then plan is tied to a
  weekday (its cue, e.g. "after the Monday meeting") and who wrote nothing on
  or since the last such day, which was a working day after the plan was made,
  gets "comeback" in their next slot (with the check-in or the inactive
  nudge): it quotes the plan and offers a smaller version, once per missed day.
- At most one message per person per slot, and never one for a slot at or
  before the last slot that was sent.
- A check-in with no answer gets one "followup", `followup_delay` after the
  slot, on the same local day, not after `followup_until` nor inside quiet
  hours, and only while the person has not written since, the day still has
  its slot and the ladder has not paused.
- A person who let the coach choose their time (`Facts.hours` is not None)
  has a slot only on days the coach has chosen an hour for
  (`handlers.reminders.best_hour`), at that hour; a day chosen as "not
  today" has none.
- A nudge the working group sends with /nudge ("admin") is not in any slot:
  it goes now, at most one a day, unless the person switched reminders off,
  paused them, or is inside their quiet hours.
- The hold-out group (`Facts.holdout`, see storage.arms) gets only the
  check-ins it chose: every other kind is an extra nudge (stuck, goal,
  inactive, admin, and any kind added later), and none goes to them, skipped
  with the reason "holdout". A hold-out person who went quiet keeps getting
  their check-ins in every slot, where a nudged one gets the "inactive"
  nudges instead: what the nudges are measured against is the reminders the
  person asked for, nothing more and nothing less.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from handlers.policy import Thresholds

CHECKIN, STUCK, GOAL, INACTIVE = "checkin", "stuck", "goal", "inactive"
FOLLOWUP, COMEBACK, LADDER = "followup", "comeback", "ladder"
RECALL = "recall"  # one question about a learning entry of a few days ago (an extra nudge)
KINDS = (CHECKIN, STUCK, GOAL, INACTIVE, COMEBACK, LADDER, RECALL)  # kinds that belong in slots
ADMIN = "admin"  # a nudge from the working group (/nudge), outside the slots
# What a person asked for, and the notice that their check-ins paused themselves (it
# is about the check-ins and stops them); every other kind (a follow-up, a come-back,
# stuck, goal, inactive, the working group's /nudge) is an extra.
CHOSEN = frozenset({CHECKIN, LADDER})
HOLDOUT = "holdout"  # the skip reason of an extra nudge kept from the hold-out group
DEFAULT_WEEKDAYS = frozenset(range(5))  # Monday..Friday (date.weekday())


@dataclass(frozen=True)
class Prefs:
    """A person's reminder preference, as the rules need it."""

    enabled: bool
    time_local: time | None
    weekdays: frozenset[int] = DEFAULT_WEEKDAYS
    paused_until: date | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None


@dataclass(frozen=True)
class GoalFact:
    id: int
    skill_id: str
    target_level: int | None
    target_date: date | None
    approach: str | None


@dataclass(frozen=True)
class Learned:
    """A learning entry (step 4) that a recall may ask about."""

    id: int
    at: datetime  # when it was written
    skill_id: str | None
    what: str  # the person's words a recall quotes: what they learned, else the activity


@dataclass(frozen=True)
class RecallFacts:
    """What the recall rule needs: the learning entries of the current round not
    asked about yet (newest first), and the slot of the last recall sent."""

    entries: tuple[Learned, ...] = ()
    last_due: datetime | None = None


RECALL_WINDOW_DAYS = 7  # an entry older than recall_days + this is not asked about any more


@dataclass(frozen=True)
class LearnedHour:
    """The hour the coach chose for one day of a person who let it choose.

    `at` None: not today. `notice`: the day's message tells the person that
    their reminders now come at `at`.
    """

    at: time | None
    notice: bool = False


@dataclass(frozen=True)
class Facts:
    """Everything the rules look at for one person, loaded in bulk."""

    person_id: int
    tz: str
    onboarded: bool
    last_active_at: datetime
    prefs: Prefs | None
    weekends_ok: bool = False
    holidays_ok: bool = False
    journey_done: bool = False
    step: int = 1
    progress_at: datetime | None = None
    goals: tuple[GoalFact, ...] = ()
    ignored: int = 0
    last_due_at: datetime | None = None
    last_inactive_due: datetime | None = None
    last_stuck_due: datetime | None = None
    goals_nudged: Mapping[str, str] = field(default_factory=dict)
    unanswered: int = 0  # slot messages sent in a row with no answer
    ladder_told_at: datetime | None = None  # when the person was told reminders paused
    last_checkin_due: datetime | None = None  # the slot of the last check-in sent
    plan_weekday: int | None = None  # the weekday the if-then plan is tied to
    plan_at: datetime | None = None  # when that plan was written
    comeback_for: date | None = None  # the missed plan day last answered
    holdout: bool = False  # in the agency's hold-out group: no extra nudges
    recall: RecallFacts = field(default_factory=RecallFacts)
    # None: the person fixed their time; else the coach's hour per local day
    hours: Mapping[date, LearnedHour] | None = None


@dataclass(frozen=True)
class Slot:
    """What one day holds for a person: when, which kinds, and why not the others.

    `due_at` is None when the day has no slot at all (`blocked` says why).
    `skip` maps each kind not in `kinds` to the reason it is not there.
    """

    day: date
    due_at: datetime | None
    at: time | None = None  # the local time of the slot
    kinds: tuple[str, ...] = ()
    blocked: str | None = None
    skip: Mapping[str, str] = field(default_factory=dict)
    goal_ids: tuple[int, ...] = ()
    plan_day: date | None = None  # the missed plan day a "comeback" answers
    recall_id: int | None = None  # the learning entry a "recall" asks about

    @property
    def key(self) -> str:
        """The slot part of the nudge's unique key: local day and time."""
        assert self.at is not None
        return slot_key(self.day, self.at)


def is_extra(kind: str) -> bool:
    """Is `kind` an extra nudge, beyond the check-ins the person chose?"""
    return kind not in CHOSEN


def withheld(facts: Facts, kind: str) -> bool:
    """Is a nudge of `kind` kept from this person because they are in the hold-out group?"""
    return facts.holdout and is_extra(kind)


def _hold_out(facts: Facts, slot: Slot) -> Slot:
    """The slot without the extra nudges when the person is in the hold-out group."""
    kept = tuple(kind for kind in slot.kinds if not withheld(facts, kind))
    if kept == slot.kinds:
        return slot
    skip = dict(slot.skip)
    skip.update({kind: HOLDOUT for kind in slot.kinds if kind not in kept})
    goal_ids = slot.goal_ids if GOAL in kept else ()
    return replace(slot, kinds=kept, skip=skip, goal_ids=goal_ids)


def slot_key(day: date, at: time) -> str:
    return f"{day.isoformat()}T{at.strftime('%H:%M')}"


def parse_slot_key(key: str) -> tuple[date, time]:
    day, _, at = key.partition("T")
    return date.fromisoformat(day), time.fromisoformat(at)


def parse_weekdays(text: str | None) -> frozenset[int]:
    """'0,1,2,3,4' -> {0..4}; anything unreadable is ignored."""
    days = set()
    for part in (text or "").split(","):
        part = part.strip()
        if part.isascii() and part.isdigit() and 0 <= int(part) <= 6:
            days.add(int(part))
    return frozenset(days)


def format_weekdays(days: frozenset[int] | set[int]) -> str:
    return ",".join(str(d) for d in sorted(days))


@lru_cache(maxsize=32)
def _thai_holidays(year: int) -> frozenset[date]:
    """Thai public holidays of `year` (computed locally by the holidays library)."""
    return frozenset(holidays.country_holidays("TH", years=year).keys())


def thai_holidays_named(year: int, lang: str) -> list[tuple[date, str]]:
    """The same holidays as `is_thai_holiday` knows, with their names in `lang`
    (for the dashboard, so the working group sees which days reminders skip)."""
    found = holidays.country_holidays("TH", years=year, language="th" if lang == "th" else "en_US")
    return sorted(found.items())


def is_thai_holiday(day: date) -> bool:
    return day in _thai_holidays(day.year)


def in_quiet(at: time, start: time | None, end: time | None) -> bool:
    """Is `at` inside the quiet hours [start, end)? They may run past midnight."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


def local_slot_time(prefs: Prefs) -> time | None:
    """The time of day the slot falls at: the reminder time, moved out of quiet hours.

    None when the quiet hours would push it into the next day.
    """
    at = prefs.time_local
    if at is None:
        return None
    if not in_quiet(at, prefs.quiet_start, prefs.quiet_end):
        return at
    assert prefs.quiet_start is not None and prefs.quiet_end is not None
    if prefs.quiet_start > prefs.quiet_end and at >= prefs.quiet_start:
        return None  # the quiet hours run past midnight: that end is tomorrow
    return prefs.quiet_end


def slot_time(facts: Facts, day: date) -> time | None:
    """The local time of the person's slot on `day`: their own time, or the hour
    the coach chose for that day; moved out of quiet hours (`local_slot_time`)."""
    prefs = facts.prefs
    assert prefs is not None
    learned = facts.hours.get(day) if facts.hours is not None else None
    if learned is not None and learned.at is not None:
        prefs = replace(prefs, time_local=learned.at)
    return local_slot_time(prefs)


def day_blocked(facts: Facts, day: date) -> str | None:
    """Why `day` has no slot for this person, or None when it has one."""
    prefs = facts.prefs
    if not facts.onboarded:
        return "not_onboarded"
    if prefs is None or not prefs.enabled or prefs.time_local is None:
        return "off"
    if facts.journey_done:
        return "completed"
    if day.weekday() not in prefs.weekdays:
        return "day_off"
    if day.weekday() >= 5 and not facts.weekends_ok:
        return "weekend"
    if not facts.holidays_ok and is_thai_holiday(day):
        return "holiday"
    if prefs.paused_until is not None and day <= prefs.paused_until:
        return "paused"
    if facts.hours is not None:
        learned = facts.hours.get(day)
        if learned is None:
            return "undecided"
        if learned.at is None:
            return "not_today"
    if slot_time(facts, day) is None:
        return "quiet"
    return None


def due_moment(facts: Facts, day: date) -> datetime | None:
    """The UTC moment of the slot on `day`, or None when the day has no slot."""
    if day_blocked(facts, day) is not None:
        return None
    at = slot_time(facts, day)
    assert at is not None
    local = datetime.combine(day, at, tzinfo=ZoneInfo(facts.tz))
    return local.astimezone(UTC)


def evaluate(facts: Facts, th: Thresholds, day: date) -> Slot:
    """The slot of `day` and the kinds of nudge that belong in it."""
    blocked = day_blocked(facts, day)
    if blocked is not None:
        return Slot(day, None, blocked=blocked, skip=dict.fromkeys(KINDS, blocked))
    due = due_moment(facts, day)
    assert due is not None
    at = slot_time(facts, day)
    assert at is not None
    base = {"day": day, "due_at": due, "at": at}
    if facts.last_active_at >= due:
        return Slot(**base, blocked="already_here", skip=dict.fromkeys(KINDS, "already_here"))
    if facts.last_due_at is not None and due <= facts.last_due_at:
        return Slot(**base, blocked="slot_sent", skip=dict.fromkeys(KINDS, "slot_sent"))
    if due - active_since(facts) >= timedelta(days=th.inactive_days):
        if facts.holdout:
            # The hold-out group keeps the check-ins it chose; the inactive nudge is an extra.
            slot = _active_slot(facts, th, base)
            slot = replace(slot, skip={**slot.skip, INACTIVE: HOLDOUT})
        else:
            slot = _inactive_slot(facts, th, base)
    else:
        slot = _active_slot(facts, th, base)
    slot = _hold_out(facts, slot)
    if not ladder_paused(facts, th) or not slot.kinds:
        return slot  # (a back-off or a stop after the last inactive nudge comes first)
    if facts.ladder_told_at is None:  # this slot's message is the pause notice instead
        skip = {k: "ladder_paused" for k in KINDS if k != LADDER}
        return Slot(**base, kinds=(LADDER,), skip=skip)
    return Slot(**base, blocked="ladder_paused", skip=dict.fromkeys(KINDS, "ladder_paused"))


def active_since(facts: Facts) -> datetime:
    """Since when the person has been quiet: their last message, or the end of
    their pause if that is later (days on pause are not days of silence)."""
    prefs = facts.prefs
    if prefs is None or prefs.paused_until is None:
        return facts.last_active_at
    resumed = datetime.combine(
        prefs.paused_until + timedelta(days=1), time(0, 0), tzinfo=ZoneInfo(facts.tz)
    ).astimezone(UTC)
    return max(facts.last_active_at, resumed)


def ladder_paused(facts: Facts, th: Thresholds) -> bool:
    """Have reminders paused themselves: `max_unanswered` unanswered in a row?"""
    return facts.unanswered >= th.max_unanswered


def _inactive_slot(facts: Facts, th: Thresholds, base: dict) -> Slot:
    """Someone who went quiet: one gentle nudge, less and less often, then silence."""
    skip = {
        CHECKIN: "inactive",
        STUCK: "inactive",
        GOAL: "inactive",
        RECALL: "inactive",
        LADDER: "not_paused",
    }
    due: datetime = base["due_at"]
    if facts.ignored >= th.max_ignored:
        skip[INACTIVE] = skip[COMEBACK] = "stopped"
        return Slot(**base, blocked="stopped", skip=skip)
    if facts.ignored > 0 and facts.last_inactive_due is not None:
        wait = timedelta(days=th.backoff_days * 2 ** (facts.ignored - 1))
        if due < facts.last_inactive_due + wait:
            skip[INACTIVE] = skip[COMEBACK] = "backoff"
            return Slot(**base, blocked="backoff", skip=skip)
    kinds = [INACTIVE]
    plan_day = missed_plan_day(facts, base["day"])
    if plan_day is not None:
        kinds.append(COMEBACK)
    else:
        skip[COMEBACK] = "no_missed_plan_day"
    return Slot(**base, kinds=tuple(kinds), skip=skip, plan_day=plan_day)


def _active_slot(facts: Facts, th: Thresholds, base: dict) -> Slot:
    """Someone who is taking part: their check-in, and help when stuck, near a goal
    or past a plan day they missed."""
    kinds = [CHECKIN]
    skip = {INACTIVE: "active", LADDER: "not_paused"}
    if is_stuck(facts, th, base["due_at"]):
        kinds.append(STUCK)
    else:
        skip[STUCK] = "not_stuck"
    goal_ids = goals_due(facts, th, base["day"])
    if goal_ids:
        kinds.append(GOAL)
    else:
        skip[GOAL] = "no_goal_due"
    plan_day = missed_plan_day(facts, base["day"])
    if plan_day is not None:
        kinds.append(COMEBACK)
    else:
        skip[COMEBACK] = "no_missed_plan_day"
    recalled = recall_due(facts, th, base["due_at"])
    if recalled is not None:
        kinds.append(RECALL)
    else:
        skip[RECALL] = "no_recall"
    return Slot(
        **base,
        kinds=tuple(kinds),
        skip=skip,
        goal_ids=goal_ids,
        plan_day=plan_day,
        recall_id=recalled.id if recalled else None,
    )


def is_working_day(facts: Facts, day: date) -> bool:
    """Is `day` one of the person's reminder days that the agency allows (pauses aside)?"""
    prefs = facts.prefs
    weekdays = prefs.weekdays if prefs is not None else DEFAULT_WEEKDAYS
    if day.weekday() not in weekdays:
        return False
    if day.weekday() >= 5 and not facts.weekends_ok:
        return False
    return facts.holidays_ok or not is_thai_holiday(day)


def missed_plan_day(facts: Facts, day: date) -> date | None:
    """The plan day before `day` that the person let pass without a word, if it
    has not had its come-back nudge yet (see the module docstring)."""
    if facts.plan_weekday is None or facts.plan_at is None or facts.step not in (4, 5):
        return None
    back = (day.weekday() - facts.plan_weekday - 1) % 7 + 1  # 1..7 days before `day`
    plan_day = day - timedelta(days=back)
    if not is_working_day(facts, plan_day):
        return None  # no working day, no cue (no Monday meeting on a holiday)
    if local_day(facts.plan_at, facts.tz) >= plan_day:
        return None  # the plan was made on or after that day
    if local_day(facts.last_active_at, facts.tz) >= plan_day:
        return None  # they came on or after the plan day
    if facts.comeback_for is not None and facts.comeback_for >= plan_day:
        return None
    return plan_day


def fresh_start(facts: Facts, day: date) -> str | None:
    """ "month" or "week" when `day` is the person's first working day of a new
    month or week (a fresh start to frame the check-in with), else None."""
    if not is_working_day(facts, day):
        return None
    first_of_month = day.replace(day=1)
    earlier = (first_of_month + timedelta(days=n) for n in range((day - first_of_month).days))
    if not any(is_working_day(facts, other) for other in earlier):
        return "month"
    monday = day - timedelta(days=day.weekday())
    earlier = (monday + timedelta(days=n) for n in range(day.weekday()))
    if not any(is_working_day(facts, other) for other in earlier):
        return "week"
    return None


def followup_moment(facts: Facts, th: Thresholds, day: date) -> datetime | None:
    """When the follow-up of `day`'s check-in would go, or None when it cannot:
    not on the same local day by `followup_until`, inside quiet hours, or for the
    hold-out group (a follow-up is an extra)."""
    if withheld(facts, FOLLOWUP):
        return None
    due = due_moment(facts, day)
    if due is None:
        return None
    moment = due + th.followup_delay
    local = moment.astimezone(ZoneInfo(facts.tz))
    if local.date() != day or local.time() > th.followup_until:
        return None
    prefs = facts.prefs
    assert prefs is not None
    if in_quiet(local.time(), prefs.quiet_start, prefs.quiet_end):
        return None
    return moment


def followup_skip(facts: Facts, th: Thresholds, day: date, due_at: datetime) -> str | None:
    """Why the follow-up planned at `due_at` for `day`'s check-in must not go (None: it may)."""
    if withheld(facts, FOLLOWUP):
        return HOLDOUT
    blocked = day_blocked(facts, day)
    if blocked is not None:
        return blocked
    checkin_due = due_moment(facts, day)
    if followup_moment(facts, th, day) != due_at or checkin_due is None:
        return "rescheduled"
    if facts.last_checkin_due != checkin_due:
        return "no_checkin"  # the check-in of that slot did not go
    if facts.last_active_at >= checkin_due:
        return "answered"
    if facts.ladder_told_at is not None:
        return "ladder_paused"
    return None


def recall_due(facts: Facts, th: Thresholds, due: datetime) -> Learned | None:
    """The learning entry to ask about in the slot at `due`, if any: the newest one
    written at least `recall_days` and at most `recall_days + RECALL_WINDOW_DAYS`
    days before, not asked about yet, and no recall in the last `recall_days`."""
    period = timedelta(days=th.recall_days)
    last = facts.recall.last_due
    if last is not None and due - last < period:
        return None
    oldest = due - period - timedelta(days=RECALL_WINDOW_DAYS)
    ripe = [e for e in facts.recall.entries if oldest <= e.at <= due - period]
    return max(ripe, key=lambda e: (e.at, e.id), default=None)


def is_stuck(facts: Facts, th: Thresholds, due: datetime) -> bool:
    """Nothing moved on the current step for `stuck_days`, and no stuck nudge for as long."""
    if facts.progress_at is None:
        return False
    period = timedelta(days=th.stuck_days)
    if due - facts.progress_at < period:
        return False
    last = facts.last_stuck_due
    return last is None or last < facts.progress_at or due - last >= period


def goals_due(facts: Facts, th: Thresholds, day: date) -> tuple[int, ...]:
    """Goals whose target date is near (today .. today + goal_days_before), not yet announced."""
    horizon = day + timedelta(days=th.goal_days_before)
    return tuple(
        goal.id
        for goal in facts.goals
        if goal.target_date is not None
        and day <= goal.target_date <= horizon
        and facts.goals_nudged.get(str(goal.id)) != goal.target_date.isoformat()
    )


def local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def days_between(start: datetime, end: datetime, tz: str) -> list[date]:
    """Every local day whose slot could fall between `start` and `end` (with a day's margin)."""
    first = local_day(start, tz) - timedelta(days=1)
    last = local_day(end, tz) + timedelta(days=1)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def slots_between(facts: Facts, th: Thresholds, start: datetime, end: datetime) -> list[Slot]:
    """The person's slots whose moment lies in [start, end], with their kinds."""
    found = []
    for day in days_between(start, end, facts.tz):
        due = due_moment(facts, day)
        if due is None or not start <= due <= end:
            continue
        found.append(evaluate(facts, th, day))
    return found


def may_nudge_now(facts: Facts, now: datetime) -> bool:
    """May the working group nudge this person at `now`? Not in the hold-out group,
    and their own settings still rule: not switched off, not paused (by them or by
    the ladder), not inside their quiet hours."""
    if withheld(facts, ADMIN):
        return False
    prefs = facts.prefs
    if prefs is None:
        return True
    local = now.astimezone(ZoneInfo(facts.tz))
    if not prefs.enabled or (prefs.paused_until and local.date() <= prefs.paused_until):
        return False
    if facts.ladder_told_at is not None:
        return False  # reminders paused themselves and the person was told
    return not in_quiet(local.time(), prefs.quiet_start, prefs.quiet_end)
