"""When a person completes the journey: their certificate, and (when the
working group switched it on) a notice in the working-group chat.

The certificate is a bonus over the congratulation already said: it is drawn
in a worker thread during the turn (so the record of it being issued is
true), and a failure to draw it is logged and the completion goes on.
"""

from __future__ import annotations

import asyncio
import logging

from sqlmodel import select

from documents.render import render
from handlers import assessment
from handlers.context import Ctx
from handlers.messages import Render, Reply
from storage.models import Agency, Certificate, Goal, Journey, Unit, WorkingGroupChat
from storage.timeutil import to_local

log = logging.getLogger(__name__)

CERTIFICATE_NAME = "dlcoach-certificate.pdf"


async def on_journey_completed(ctx: Ctx, journey: Journey) -> None:
    """Everything that follows a completed round, after the congratulation."""
    await send_certificate(ctx, journey)
    await notify_working_group(ctx, journey)


async def developed_skills(ctx: Ctx, journey: Journey) -> list[str]:
    """The round's focus skills (step 3) and every skill rated higher after than before,
    in the content's order."""
    result = await ctx.session.exec(select(Goal.skill_id).where(Goal.journey_id == journey.id))
    chosen = set(result.all())
    pre = await assessment.ratings(
        ctx.session, await assessment.get_assessment(ctx.session, journey, "pre")
    )
    post = await assessment.ratings(
        ctx.session, await assessment.get_assessment(ctx.session, journey, "post")
    )
    chosen |= {s for s, change in assessment.growth(pre, post).items() if change > 0}
    return [s.id for s in ctx.content.skills if s.id in chosen]


async def certificate_for(ctx: Ctx, journey: Journey) -> Render:
    """The PDF certificate of `journey` in the person's language."""
    assert ctx.person is not None
    agency = await ctx.session.get(Agency, ctx.person.agency_id) if ctx.person.agency_id else None
    skills = [ctx.content.skill(s).name.get(ctx.lang) for s in await developed_skills(ctx, journey)]
    finished = to_local(journey.completed_at or ctx.now, ctx.person.timezone).date()
    spec = {
        "title": ctx.t("certificate.title"),
        "body_lines": ctx.t("certificate.body").split("\n"),
        "name": ctx.person.display_name or "",
        "agency": agency.name if agency else "",
        "date_text": ctx.date_text(finished),
        "skills": skills,
        "footer": ctx.t("certificate.footer"),
        "skills_heading": ctx.t("certificate.skills_heading"),
    }
    return Render("certificate", spec, as_document=True)


async def send_certificate(ctx: Ctx, journey: Journey) -> None:
    """Send the certificate once per round and record that it was issued."""
    assert ctx.person is not None
    issued = await ctx.session.exec(select(Certificate).where(Certificate.journey_id == journey.id))
    if issued.first() is not None:
        return
    certificate = await certificate_for(ctx, journey)
    try:
        pdf = await asyncio.to_thread(render, certificate.kind, certificate.spec)
    except Exception:  # noqa: BLE001 - the congratulation has been said already
        log.exception("could not draw the certificate of journey %s", journey.id)
        return
    ctx.send_document(ctx.t("completion.certificate"), pdf, CERTIFICATE_NAME)
    ctx.session.add(Certificate(journey_id=journey.id, person_id=ctx.person.id, issued_at=ctx.now))


async def notify_working_group(ctx: Ctx, journey: Journey) -> None:
    """A notice in the agency's working-group chat, if the group switched notices on."""
    person = ctx.person
    if person is None or person.agency_id is None:
        return
    chat = (
        await ctx.session.exec(
            select(WorkingGroupChat).where(WorkingGroupChat.agency_id == person.agency_id)
        )
    ).first()
    if chat is None or not chat.notify_completions:
        return
    unit = await ctx.session.get(Unit, person.unit_id) if person.unit_id else None
    text = ctx.content.t(
        "completion.notice",
        chat.lang,
        name=person.display_name or "",
        number=person.agency_number,
        unit=unit.name if unit else ctx.content.t("admin.no_unit", chat.lang),
        round=journey.round_no,
    )
    ctx.post_to_chat(
        chat.channel,
        chat.chat_id,
        [Reply(text=text, essential=False)],
        kind="push",
        dedupe_key=f"done-{journey.id}",
    )
