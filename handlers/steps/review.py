"""Step 6, review and share: re-rate the nine skills, see growth against step 2,
reflect, share one tip; then the journey is complete and a new round is offered."""

from __future__ import annotations

from handlers import assessment
from handlers.admin.completion import on_journey_completed
from handlers.charts import person_chart
from handlers.common import free_text, menu_choice, pick, skill_name
from handlers.context import Answer, Ctx
from handlers.conversation import Next
from handlers.journey import add_entry, start_new_round
from handlers.messages import Card, CardRow, Choice
from handlers.steps.assess import answer_rating, ask_rating, begin_rating, skill_ids
from storage.models import Idea
from storage.models.admin import TIP


async def ask_intro(ctx: Ctx) -> None:
    """Explain the post-assessment."""
    ctx.ask(ctx.t("s6.intro"), [Choice("start", ctx.t("s2.start")), menu_choice(ctx)])


async def answer_intro(ctx: Ctx, answer: Answer) -> Next:
    return await begin_rating(ctx, await ctx.journey(), "post", "s6.rate")


async def ask_post_rating(ctx: Ctx) -> None:
    """Rate one skill again (post-assessment), with the step-2 rating shown."""
    await ask_rating(ctx, "post")


async def answer_post_rating(ctx: Ctx, answer: Answer) -> Next:
    return await answer_rating(ctx, answer, "post", "s6.rate", "s6.result")


async def ask_result(ctx: Ctx) -> None:
    """Growth per skill against step 2, as text, card and chart."""
    journey = await ctx.journey()
    pre = await assessment.ratings(
        ctx.session, await assessment.get_assessment(ctx.session, journey, "pre")
    )
    post = await assessment.ratings(
        ctx.session, await assessment.get_assessment(ctx.session, journey, "post")
    )
    change = assessment.growth(pre, post)
    rows = []
    for skill_id in skill_ids(ctx):
        if skill_id not in post:
            continue
        delta = change.get(skill_id)
        sign = "" if delta is None else (f"+{delta}" if delta > 0 else str(delta))
        rows.append(
            CardRow(
                skill_name(ctx, skill_id),
                f"{pre.get(skill_id, '-')} → {post[skill_id]} ({sign or '0'})",
                post[skill_id] / 5,
            )
        )
    grown = [s for s, d in change.items() if d > 0]
    average = sum(change.values()) / len(change) if change else 0.0
    lines = "\n".join(f"• {r.label}: {r.value}" for r in rows)
    footer = ctx.t("s6.growth_footer", grown=len(grown), average=f"{average:+.1f}")
    ctx.say(
        ctx.t(
            "s6.result",
            lines=lines,
            footer=footer,
            disclaimer=ctx.content.skills_file.disclaimer.get(ctx.lang),
        ),
        card=Card(title=ctx.t("s6.result_title"), rows=tuple(rows), footer=footer),
    )
    ctx.say(ctx.t("assess.chart_caption"), image=person_chart(ctx, pre, post))
    ctx.ask(ctx.t("s6.next"), [Choice("next", ctx.t("common.next"))])


async def answer_result(ctx: Ctx, answer: Answer) -> Next:
    return "s6.reflect"


async def ask_reflect(ctx: Ctx) -> None:
    """Ask what the person learned about themselves and their work."""
    ctx.ask(ctx.t("s6.ask_reflect"), [menu_choice(ctx)])


async def answer_reflect(ctx: Ctx, answer: Answer) -> Next:
    await add_entry(ctx, "reflection", free_text(answer, min_len=2))
    return "s6.tip"


async def ask_tip(ctx: Ctx) -> None:
    """Ask for one tip to share with colleagues."""
    ctx.ask(ctx.t("s6.ask_tip"), [menu_choice(ctx)])


async def answer_tip(ctx: Ctx, answer: Answer) -> Next:
    tip = free_text(answer, min_len=2)
    await add_entry(ctx, "tip", tip)
    assert ctx.person is not None
    if ctx.person.agency_id is not None:  # shared with the working group, as the step says
        ctx.session.add(
            Idea(
                person_id=ctx.person.id,
                agency_id=ctx.person.agency_id,
                kind=TIP,
                text=tip,
                created_at=ctx.now,
            )
        )
    journey = await ctx.journey()
    journey.completed_at = ctx.now
    ctx.session.add(journey)
    assert ctx.person is not None
    ctx.say(ctx.t("s6.complete", name=ctx.person.display_name or "", round=journey.round_no))
    await on_journey_completed(ctx, journey)
    return "done"


async def ask_done(ctx: Ctx) -> None:
    """The journey is complete: offer a new round."""
    ctx.ask(ctx.t("done.ask"), [Choice("new", ctx.t("done.new_round")), menu_choice(ctx)])


async def answer_done(ctx: Ctx, answer: Answer) -> Next:
    pick(answer, ["new"])
    return await start_new_round(ctx)
