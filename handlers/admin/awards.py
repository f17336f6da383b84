"""The exemplary-learner certificate: given by the head of the working group, by hand.

The guideline suggests motivating staff with certificates for exemplary
learners. The coach proposes candidates (/exemplary, by what they applied at
work); the head confirms each one, and the person receives the certificate,
in their own language, in their chat. Once per completed round.
"""

from __future__ import annotations

from sqlmodel import select

from handlers.admin.access import Seat
from handlers.admin.completion import developed_skills
from handlers.context import Ctx
from handlers.dates import date_text
from handlers.messages import Render, Reply
from storage.accounts import reachable
from storage.models import Award, Journey, Person
from storage.timeutil import to_local

AWARD_NAME = "dlcoach-exemplary-certificate.pdf"


async def latest_completed(ctx: Ctx, person: Person) -> Journey | None:
    """The person's latest completed round (the one an award is for)."""
    result = await ctx.session.exec(
        select(Journey)
        .where(Journey.person_id == person.id, Journey.completed_at.is_not(None))  # type: ignore[union-attr]
        .order_by(Journey.round_no.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    return result.first()


async def _certificate(ctx: Ctx, seat: Seat, person: Person, journey: Journey) -> Render:
    """The exemplary-learner certificate of `person`, in their language."""
    lang, t = person.lang, ctx.content.t
    skills = [ctx.content.skill(s).name.get(lang) for s in await developed_skills(ctx, journey)]
    head = ctx.person.display_name if ctx.person else ""
    spec = {
        "title": t("exemplary.title", lang),
        "body_lines": t("exemplary.body", lang).split("\n"),
        "name": person.display_name or "",
        "agency": seat.agency.name,
        "date_text": date_text(ctx.content, lang, to_local(ctx.now, seat.agency.timezone).date()),
        "skills": skills,
        "footer": t("exemplary.footer", lang, head=head or "-", agency=seat.agency.name),
        "skills_heading": t("certificate.skills_heading", lang),
    }
    failed = t("exemplary.failed", lang)
    return Render("certificate", spec, as_document=True, failed_text=failed)


async def give_award(ctx: Ctx, seat: Seat, person: Person, journey: Journey) -> None:
    """Record the award and send the certificate to the person (once per round)."""
    existing = await ctx.session.exec(select(Award).where(Award.journey_id == journey.id))
    if existing.first() is not None:
        ctx.say(ctx.t("admin.award_already", number=person.agency_number))
        return
    account = (await reachable(ctx.session, [person.id])).get(person.id)  # type: ignore[list-item]
    if account is None:
        ctx.say(ctx.t("admin.unreachable", number=person.agency_number))
        return
    ctx.session.add(
        Award(
            agency_id=seat.agency.id,  # type: ignore[arg-type]
            person_id=person.id,  # type: ignore[arg-type]
            journey_id=journey.id,  # type: ignore[arg-type]
            given_by=ctx.person.id if ctx.person else None,
            given_at=ctx.now,
        )
    )
    message = Reply(
        text=ctx.content.t("exemplary.message", person.lang, agency=seat.agency.name),
        render=await _certificate(ctx, seat, person, journey),
        document_name=AWARD_NAME,
    )
    ctx.send_to(account, [message], kind="award")
    ctx.say(
        ctx.t("admin.award_given", number=person.agency_number, name=person.display_name or "-")
    )
    ctx.audit("admin.award", subject=person.id, agency=seat.agency.code, round=journey.round_no)
