"""One person's record, for an admin about to give feedback: where they are, their
plan and if-then sentence, their latest learning and uses at work, and their
before and after self-ratings.

Every opening is written to the audit log (who saw whose record), and an admin
sees only people of their own agency, by the agency's own numbers.
"""

from __future__ import annotations

from sqlmodel import select

from handlers import assessment
from handlers.admin.access import Seat
from handlers.common import level_text, skill_name
from handlers.context import Ctx
from handlers.messages import Choice
from storage import agencies
from storage.models import Goal, Journey, Person, StepEntry, Unit
from storage.timeutil import to_local

SHOWN_ENTRIES = 5  # latest learning and evidence entries in the record
RECORD_BUTTONS = 10  # "open the record" buttons under an /inactive list
RECORD = "pv:"  # choice-id prefix of those buttons: pv:<number>


def record_choices(ctx: Ctx, numbers: list[int]) -> list[Choice]:
    """Buttons that open the record of each of the first listed people."""
    return [
        Choice(f"{RECORD}{number}", ctx.t("admin.record_button", number=number))
        for number in numbers[:RECORD_BUTTONS]
    ]


async def _entries(ctx: Ctx, person: Person, kind: str) -> list[StepEntry]:
    result = await ctx.session.exec(
        select(StepEntry)
        .where(StepEntry.person_id == person.id, StepEntry.kind == kind)
        .order_by(StepEntry.id.desc())  # type: ignore[attr-defined]
        .limit(SHOWN_ENTRIES)
    )
    return list(result.all())


async def _rounds(ctx: Ctx, person: Person) -> list[Journey]:
    result = await ctx.session.exec(
        select(Journey).where(Journey.person_id == person.id).order_by(Journey.round_no)
    )
    return list(result.all())


def _where(ctx: Ctx, rounds: list[Journey]) -> str:
    latest = rounds[-1] if rounds else None
    completed = sum(1 for r in rounds if r.completed_at is not None)
    if latest is None:
        return ctx.t("admin.record_not_started")
    if latest.completed_at is not None:
        return ctx.t("admin.record_done", round=latest.round_no, completed=completed)
    step = ctx.content.step(latest.current_step)
    return ctx.t(
        "admin.record_at",
        round=latest.round_no,
        step=latest.current_step,
        title=step.title.get(ctx.lang),
        completed=completed,
    )


async def _goal_lines(ctx: Ctx, journey: Journey | None) -> str:
    if journey is None:
        return ctx.t("admin.record_none")
    goals = (await ctx.session.exec(select(Goal).where(Goal.journey_id == journey.id))).all()
    lines = []
    for goal in goals:
        approach = ctx.content.approach(goal.approach or "")
        lines.append(
            ctx.t(
                "admin.record_goal",
                skill=skill_name(ctx, goal.skill_id),
                start=goal.start_level,
                target=goal.target_level or "-",
                date=ctx.date_text(goal.target_date) if goal.target_date else "-",
                approach=approach.label.get(ctx.lang) if approach else "-",
            )
        )
    return "\n".join(lines) or ctx.t("admin.record_none")


async def _rating_lines(ctx: Ctx, rounds: list[Journey]) -> str:
    """Before and after per skill, from the latest round that has ratings."""
    for journey in reversed(rounds):
        pre = await assessment.ratings(
            ctx.session, await assessment.get_assessment(ctx.session, journey, "pre")
        )
        if not pre:
            continue
        post = await assessment.ratings(
            ctx.session, await assessment.get_assessment(ctx.session, journey, "post")
        )
        return "\n".join(
            ctx.t(
                "admin.record_rating",
                skill=s.short.get(ctx.lang),
                pre=level_text(ctx, pre.get(s.id)),
                post=level_text(ctx, post.get(s.id)) if post else "-",
            )
            for s in ctx.content.skills
        )
    return ctx.t("admin.record_none")


def _day(ctx: Ctx, entry: StepEntry, tz: str) -> str:
    return ctx.date_text(to_local(entry.created_at, tz).date())


def _learning_line(ctx: Ctx, entry: StepEntry, tz: str) -> str:
    return ctx.t(
        "admin.record_learning",
        date=_day(ctx, entry, tz),
        what=entry.data.get("what", entry.text),
        minutes=entry.data.get("minutes", "-"),
        learned=entry.data.get("learned", "-"),
    )


def _evidence_line(ctx: Ctx, entry: StepEntry, tz: str) -> str:
    outcome = ctx.content.outcome(str(entry.data.get("outcome", "")))
    return ctx.t(
        "admin.record_evidence",
        date=_day(ctx, entry, tz),
        task=entry.data.get("task", entry.text),
        tool=entry.data.get("tool", "-"),
        result=entry.data.get("result", "-"),
        outcome=outcome.label.get(ctx.lang) if outcome else "-",
    )


async def show_record(ctx: Ctx, seat: Seat, number: int) -> None:
    """Say the record of person `number` of the admin's agency, and audit the read."""
    person = await agencies.numbered(ctx.session, seat.agency.id, number)  # type: ignore[arg-type]
    if person is None:
        ctx.audit("admin.record_unknown", agency=seat.agency.code, number=number)
        ctx.say(ctx.t("admin.person_unknown", number=number))
        return
    tz = seat.agency.timezone
    unit = await ctx.session.get(Unit, person.unit_id) if person.unit_id else None
    group = ctx.content.group(person.personnel_group or "")
    rounds = await _rounds(ctx, person)
    plans = await _entries(ctx, person, "plan")
    learning = await _entries(ctx, person, "learning")
    evidence = await _entries(ctx, person, "evidence")
    ctx.say(
        ctx.t(
            "admin.record",
            number=number,
            name=person.display_name or "-",
            unit=unit.name if unit else ctx.t("admin.no_unit"),
            group=group.label.get(ctx.lang) if group else ctx.t("admin.no_group"),
            where=_where(ctx, rounds),
            plan=plans[0].text if plans else ctx.t("admin.record_none"),
            goals=await _goal_lines(ctx, rounds[-1] if rounds else None),
            learning="\n".join(_learning_line(ctx, e, tz) for e in learning)
            or ctx.t("admin.record_none"),
            evidence="\n".join(_evidence_line(ctx, e, tz) for e in evidence)
            or ctx.t("admin.record_none"),
            ratings=await _rating_lines(ctx, rounds),
            disclaimer=ctx.content.skills_file.disclaimer.get(ctx.lang),
        )
    )
    ctx.audit("admin.record_viewed", subject=person.id, agency=seat.agency.code, number=number)
