"""Moving through the journey: entering a step, finding where to resume, and
starting a new round."""

from __future__ import annotations

from sqlmodel import func, select

from handlers.common import progress_bar
from handlers.context import Ctx
from storage.models import Goal, Journey, JourneyStep, StepEntry

ONBOARDING = "onboard.name"  # where someone who has not finished onboarding picks up
# The first state of each step, and where /continue goes back to.
STEP_ENTRY = {
    1: "s1.intro",
    2: "s2.intro",
    3: "s3.pick",
    4: "s4.menu",
    5: "s5.menu",
    6: "s6.intro",
}


async def enter_step(ctx: Ctx, number: int) -> str:
    """Record that the person reached step `number`, announce it, return its first state."""
    journey = await ctx.journey()
    if journey.current_step != number:
        journey.current_step = number
        journey.step_started_at = ctx.now
        ctx.session.add(journey)
    await _log_step(ctx, journey, number)
    step = ctx.content.step(number)
    ctx.say(
        ctx.t(
            "journey.step_banner",
            number=number,
            title=step.title.get(ctx.lang),
            bar=progress_bar(number - 1, 6),
            summary=step.summary.get(ctx.lang),
        )
    )
    ctx.clear_scratch()  # a new step starts with no scratch answers
    return STEP_ENTRY[number]


async def _log_step(ctx: Ctx, journey: Journey, number: int) -> None:
    """Remember when the round first entered step `number` (reports of past periods use it)."""
    found = await ctx.session.exec(
        select(JourneyStep.id).where(
            JourneyStep.journey_id == journey.id, JourneyStep.step == number
        )
    )
    if found.first() is None:
        assert ctx.person is not None
        ctx.session.add(
            JourneyStep(
                journey_id=journey.id, person_id=ctx.person.id, step=number, entered_at=ctx.now
            )
        )


def resume_state(journey: Journey, onboarded: bool = True) -> str:
    """Where a person picks up again: onboarding, the entry of their current step, or the end."""
    if not onboarded:
        return ONBOARDING
    if journey.completed_at is not None:
        return "done"
    return STEP_ENTRY[journey.current_step]


async def where_it_stands(ctx: Ctx) -> str:
    """The state where the person's journey stands (onboarding first)."""
    onboarded = ctx.person is not None and ctx.person.onboarded_at is not None
    if not onboarded:
        return ONBOARDING
    return resume_state(await ctx.journey())


async def goals(ctx: Ctx, journey: Journey) -> list[Goal]:
    result = await ctx.session.exec(
        select(Goal).where(Goal.journey_id == journey.id).order_by(Goal.id)
    )
    return list(result.all())


async def entry_count(ctx: Ctx, journey: Journey, kind: str) -> int:
    result = await ctx.session.exec(
        select(func.count())
        .select_from(StepEntry)
        .where(StepEntry.journey_id == journey.id, StepEntry.kind == kind)
    )
    return int(result.one())


async def add_entry(
    ctx: Ctx,
    kind: str,
    text: str,
    *,
    skill_id: str | None = None,
    journey: Journey | None = None,
    **data: object,
) -> StepEntry:
    """Store something the person wrote, at once: in the current step of `journey`
    (by default their current round)."""
    journey = journey or await ctx.journey()
    assert ctx.person is not None
    entry = StepEntry(
        journey_id=journey.id,
        person_id=ctx.person.id,
        step=journey.current_step,
        kind=kind,
        skill_id=skill_id,
        text=text,
        data=dict(data),
        created_at=ctx.now,
    )
    ctx.session.add(entry)
    await ctx.session.flush()
    return entry


async def start_new_round(ctx: Ctx) -> str:
    """Open the next journey round at step 1."""
    previous = await ctx.journey()
    assert ctx.person is not None
    journey = Journey(
        person_id=ctx.person.id,
        round_no=previous.round_no + 1,
        current_step=1,
        started_at=ctx.now,
        step_started_at=ctx.now,
    )
    ctx.session.add(journey)
    await ctx.session.flush()
    ctx.begin_round(journey)
    ctx.say(ctx.t("journey.new_round", round=journey.round_no))
    return await enter_step(ctx, 1)
