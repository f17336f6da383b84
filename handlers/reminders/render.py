"""What a nudge says: the person's own plan and next action, never a bare
"time to learn" (planning prompts work; plain reminders do not).

Every nudge of one slot becomes one message with one tap to continue. The
reminder ladder's own messages: a short follow-up of an unanswered check-in,
and the notice that reminders paused themselves, with a one-tap resume.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from content.loader import Content
from handlers.dates import date_text
from handlers.messages import Choice, Reply
from handlers.reminders.facts import Story
from handlers.reminders.rules import (
    ADMIN,
    CHECKIN,
    COMEBACK,
    FOLLOWUP,
    GOAL,
    INACTIVE,
    LADDER,
    RECALL,
    STUCK,
    Facts,
    GoalFact,
    Thresholds,
    fresh_start,
)

RESUME = "lr:on"  # the button under the ladder's pause notice (a pushed button)


class Texts:
    """Messages from content/ in one person's language."""

    def __init__(self, content: Content, lang: str) -> None:
        self.content = content
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        return self.content.t(key, self.lang, **values)

    def date(self, day: date) -> str:
        return date_text(self.content, self.lang, day)

    def skill(self, skill_id: str) -> str:
        return self.content.skill(skill_id).name.get(self.lang)


QUOTE_MAX = 120  # characters of the person's own words a nudge quotes in one line


def short_quote(text: str, limit: int = QUOTE_MAX) -> str:
    """The person's words cut to one short line for a phone, never between a Thai
    letter and its vowel or tone mark (Thai has no spaces to cut at)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = limit
    while cut > 0 and unicodedata.category(text[cut]) == "Mn":
        cut -= 1
    return text[:cut].rstrip() + "…"


RECALL_QUOTE_MAX = 80  # characters of a learning entry a recall quotes
# A recall's buttons (handled by handlers.reminders.recall), each followed by a
# number: answer or skip the question about learning entry N, make the kept
# answer N an evidence entry. Short, so they fit Telegram's 64 bytes.
RECALL_BUTTON = "rc:"
RECALL_ANSWER, RECALL_SKIP, RECALL_EVIDENCE = "rc:a", "rc:s", "rc:e"


def _recall_line(t: Texts, facts: Facts, recall_id: int | None, due_at: datetime) -> str | None:
    """The recall's question, quoting what the person wrote they learned."""
    entry = next((e for e in facts.recall.entries if e.id == recall_id), None)
    if entry is None:
        return None
    days = max(1, (due_at - entry.at).days)
    return t("reminders.recall", days=days, what=short_quote(entry.what, RECALL_QUOTE_MAX))


def recall_choices(t: Texts, entry_id: int) -> tuple[Choice, ...]:
    return (
        Choice(f"{RECALL_ANSWER}{entry_id}", t("reminders.recall_answer")),
        Choice(f"{RECALL_SKIP}{entry_id}", t("reminders.recall_skip")),
    )


def nudge_choices(t: Texts) -> tuple[Choice, ...]:
    """Buttons that work from any state (no question number): continue, settings."""
    return (
        Choice("go:continue", t("reminders.continue")),
        Choice("go:remind", t("reminders.settings")),
    )


def next_action(t: Texts, facts: Facts, story: Story) -> str:
    """The person's next concrete action, in their own terms where there are any."""
    skills = ", ".join(t.skill(g.skill_id) for g in facts.goals)
    if facts.step == 4 and skills:
        approach = t.content.approach(facts.goals[0].approach or "")
        text = t(
            "reminders.next.learn",
            skills=skills,
            approach=approach.label.get(t.lang) if approach else "-",
        )
        if story.last_learning:
            text += "\n" + t("reminders.last_learning", what=story.last_learning)
        return text
    if facts.step == 5 and skills:
        text = t("reminders.next.apply", skills=skills)
        if story.last_evidence:
            text += "\n" + t("reminders.last_evidence", task=story.last_evidence)
        return text
    step = t.content.step(facts.step)
    return t(
        "reminders.next.step",
        number=facts.step,
        title=step.title.get(t.lang),
        what=step.what_you_do.get(t.lang),
    )


def _greeting(t: Texts, key: str, story: Story) -> str:
    """A greeting with the person's name, or the nameless form when there is none."""
    if story.name:
        return t(key, name=story.name)
    return t(key + "_noname")


def _goal_line(t: Texts, goal: GoalFact, day: date) -> str:
    assert goal.target_date is not None
    days = (goal.target_date - day).days
    values = {
        "skill": t.skill(goal.skill_id),
        "level": goal.target_level or "-",
        "date": t.date(goal.target_date),
        "days": days,
    }
    return t("reminders.goal_today" if days == 0 else "reminders.goal", **values)


def _inactive_line(t: Texts, facts: Facts, th: Thresholds, story: Story) -> str:
    """Gentler each time: the n-th nudge since the person went quiet."""
    number = facts.ignored + 1
    if number >= th.max_ignored:
        return _greeting(t, "reminders.inactive.last", story)
    if number == 1:
        return _greeting(t, "reminders.inactive.first", story)
    return _greeting(t, "reminders.inactive.again", story)


def render_nudges(
    content: Content,
    facts: Facts,
    story: Story,
    th: Thresholds,
    *,
    kinds: tuple[str, ...],
    day: date,
    due_at: datetime,
    goal_ids: tuple[int, ...],
    nudge_ids: list[int],
    plan_day: date | None = None,
    recall_id: int | None = None,
) -> Reply:
    """One message for every nudge of one slot, quoting the person's own plan."""
    t = Texts(content, story.lang)
    if LADDER in kinds:
        return _ladder_notice(t, th, story, nudge_ids=nudge_ids)
    parts = []
    first: tuple[Choice, ...] = ()
    if INACTIVE in kinds:
        parts.append(_inactive_line(t, facts, th, story))
        if story.reason:  # coming back after a gap: the person's own why, in one line
            parts.append(t("reminders.reason", reason=short_quote(story.reason)))
    if CHECKIN in kinds:
        fresh = fresh_start(facts, day)
        if fresh is not None:  # the first working day of a week or month: a new start
            parts.append(t(f"reminders.fresh_{fresh}"))
        parts.append(_greeting(t, "reminders.checkin", story))
    if GOAL in kinds:
        parts.extend(_goal_line(t, g, day) for g in facts.goals if g.id in goal_ids)
    if STUCK in kinds and facts.progress_at is not None:
        step = content.step(facts.step)
        parts.append(
            t(
                "reminders.stuck",
                step=facts.step,
                title=step.title.get(t.lang),
                days=(due_at - facts.progress_at).days,
            )
        )
    learned = facts.hours.get(day) if facts.hours is not None else None
    if learned is not None and learned.notice and learned.at is not None:
        parts.append(t("reminders.best_hour_moved", time=learned.at.strftime("%H:%M")))
    quoted = False
    if COMEBACK in kinds and story.plan and plan_day is not None:
        parts.append(t("reminders.comeback", day=t.date(plan_day), plan=story.plan))
        parts.append(t("reminders.comeback_smaller"))
        quoted = True
    recall = _recall_line(t, facts, recall_id, due_at) if RECALL in kinds else None
    if recall is not None and recall_id is not None:
        parts.append(recall)
        first = recall_choices(t, recall_id)
    return _nudge_message(
        t,
        facts,
        story,
        parts,
        kinds=list(kinds),
        nudge_ids=nudge_ids,
        quote_plan=not quoted,
        first=first,
    )


def _ladder_notice(t: Texts, th: Thresholds, story: Story, *, nudge_ids: list[int]) -> Reply:
    """Reminders paused themselves after `max_unanswered` with no answer: say so
    once, kindly, with one tap to have them back."""
    count = th.max_unanswered
    if story.name:
        text = t("reminders.ladder", name=story.name, count=count)
    else:
        text = t("reminders.ladder_noname", count=count)
    return Reply(
        text=text,
        choices=(
            Choice(RESUME, t("reminders.ladder_resume")),
            Choice("go:remind", t("reminders.settings")),
        ),
        essential=False,
        extra={"nudges": nudge_ids, "kinds": [LADDER]},
    )


def render_followup(content: Content, facts: Facts, story: Story, *, nudge_ids: list[int]) -> Reply:
    """The one follow-up of an unanswered check-in: a lighter word, the same plan."""
    t = Texts(content, story.lang)
    parts = [_greeting(t, "reminders.followup", story)]
    return _nudge_message(t, facts, story, parts, kinds=[FOLLOWUP], nudge_ids=nudge_ids)


def _nudge_message(
    t: Texts,
    facts: Facts,
    story: Story,
    parts: list[str],
    *,
    kinds: list[str],
    nudge_ids: list[int],
    quote_plan: bool = True,
    first: tuple[Choice, ...] = (),
) -> Reply:
    """Every nudge ends the same way: the person's own plan (unless a nudge of it
    quoted it already), their next action, and one tap to continue (or to change
    the reminders); `first` are buttons of one of its nudges (a recall's answer and
    skip), put before those."""
    if story.plan and quote_plan:
        parts.append(t("reminders.plan", plan=story.plan))
    parts.append(t("reminders.next", next=next_action(t, facts, story)))
    return Reply(
        text="\n\n".join(parts),
        choices=first + nudge_choices(t),
        essential=False,
        extra={"nudges": nudge_ids, "kinds": kinds},
    )


def render_admin_nudge(
    content: Content,
    facts: Facts,
    story: Story,
    *,
    agency_name: str,
    idle_days: int,
    nudge_ids: list[int],
) -> Reply:
    """The working group's nudge, in the reminders' own words: the person's plan and
    next action, with the reminders' buttons (continue, reminder settings)."""
    t = Texts(content, story.lang)
    step = content.step(facts.step)
    parts = [
        t(
            "admin.nudge",
            name=story.name,
            agency=agency_name,
            step=facts.step,
            title=step.title.get(story.lang),
            days=idle_days,
        )
    ]
    return _nudge_message(t, facts, story, parts, kinds=[ADMIN], nudge_ids=nudge_ids)
