"""What every member of staff can send the working group, at any time:
opinions and suggestions (/idea), and answers to an admin's feedback (the
"reply" button on the feedback message, or /reply).

Each is a one-question detour (see the table in `handlers.flow`): the person
comes back to the question they were on afterwards.
"""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.common import CANCEL, free_text, is_cancel
from handlers.context import Answer, Ctx
from handlers.conversation import BACK, REASK, Next
from handlers.errors import Reprompt
from handlers.messages import Choice, Reply
from handlers.typed import whole_number
from storage.accounts import reachable
from storage.models import Feedback, Idea, Person


def cancel_choice(ctx: Ctx) -> Choice:
    return Choice(CANCEL, ctx.t("admin.cancel"))


async def latest_ideas(
    session: AsyncSession, agency_id: int, limit: int, offset: int = 0
) -> list[tuple[Idea, Person]]:
    """The agency's ideas and tips, newest first, with who sent them (for /ideas and
    the dashboard)."""
    result = await session.exec(
        select(Idea, Person)
        .join(Person, Person.id == Idea.person_id)
        .where(Idea.agency_id == agency_id)
        .order_by(Idea.created_at.desc(), Idea.id.desc())  # type: ignore[attr-defined]
        .offset(offset)
        .limit(limit)
    )
    return list(result.all())


# ---- /idea -------------------------------------------------------------------------------


async def cmd_idea(ctx: Ctx, argument: str) -> Next:
    """/idea TEXT sends an opinion or suggestion to the working group; /idea alone asks for it."""
    assert ctx.person is not None
    if ctx.person.agency_id is None:
        ctx.say(ctx.t("idea.need_agency"))
        return REASK
    text = argument.strip()
    if not text:
        return "idea.text"
    try:
        _save_idea(ctx, free_text(Answer(text=text)))
    except Reprompt as problem:
        ctx.say(ctx.t(problem.message_key, **problem.values))
    return REASK


def _save_idea(ctx: Ctx, text: str) -> None:
    assert ctx.person is not None and ctx.person.agency_id is not None
    ctx.session.add(
        Idea(person_id=ctx.person.id, agency_id=ctx.person.agency_id, text=text, created_at=ctx.now)
    )
    ctx.say(ctx.t("idea.thanks"))


async def ask_idea(ctx: Ctx) -> None:
    """Ask for the opinion or suggestion."""
    ctx.ask(ctx.t("idea.ask"), [cancel_choice(ctx)])


async def answer_idea(ctx: Ctx, answer: Answer) -> Next:
    if is_cancel(ctx, answer):
        ctx.say(ctx.t("admin.cancelled"))
        return BACK
    _save_idea(ctx, free_text(answer, min_len=2))
    return BACK


# ---- answering an admin's feedback -----------------------------------------------------------


async def _feedback_for(ctx: Ctx, feedback_id: int | None) -> Feedback | None:
    """The feedback `feedback_id` if it was sent to this person; else their latest one."""
    assert ctx.person is not None
    query = select(Feedback).where(Feedback.to_person_id == ctx.person.id)
    if feedback_id is not None:
        query = query.where(Feedback.id == feedback_id)
    result = await ctx.session.exec(query.order_by(Feedback.id.desc()).limit(1))  # type: ignore[attr-defined]
    return result.first()


async def cmd_reply(ctx: Ctx, argument: str) -> Next:
    """/reply TEXT answers the latest message from the working group; /reply alone asks."""
    original = await _feedback_for(ctx, None)
    if original is None:
        ctx.say(ctx.t("feedback.nothing_to_reply"))
        return REASK
    if not argument.strip():
        ctx.set_data(reply_to=original.id)
        return "feedback.reply"
    try:
        await _deliver_reply(ctx, original, free_text(Answer(text=argument)))
    except Reprompt as problem:
        ctx.say(ctx.t(problem.message_key, **problem.values))
    return REASK


async def reply_button(ctx: Ctx, choice: str) -> Next:
    """The "reply" button under a feedback message (sent outside the conversation)."""
    number = whole_number(choice.removeprefix("fb:"))
    original = await _feedback_for(ctx, number) if number is not None else None
    if original is None:
        ctx.say(ctx.t("common.stale_button"))
        return REASK
    ctx.set_data(reply_to=original.id)
    return "feedback.reply"


async def ask_reply(ctx: Ctx) -> None:
    """Ask for the answer to the working group's message."""
    ctx.ask(ctx.t("feedback.ask_reply"), [cancel_choice(ctx)])


async def answer_reply(ctx: Ctx, answer: Answer) -> Next:
    if is_cancel(ctx, answer):
        ctx.say(ctx.t("admin.cancelled"))
        return BACK
    text = free_text(answer)
    original = await _feedback_for(ctx, ctx.data.get("reply_to"))
    if original is not None:
        await _deliver_reply(ctx, original, text)
    return BACK


async def _deliver_reply(ctx: Ctx, original: Feedback, text: str) -> None:
    """Store the answer in the thread and send it to the admin who wrote."""
    assert ctx.person is not None
    ctx.session.add(
        Feedback(
            agency_id=original.agency_id,
            from_person_id=ctx.person.id,
            to_person_id=original.from_person_id,
            reply_to_id=original.id,
            text=text,
            created_at=ctx.now,
        )
    )
    admin = await ctx.session.get(Person, original.from_person_id)
    account = (await reachable(ctx.session, [admin.id])).get(admin.id) if admin else None
    if admin is not None and account is not None:
        name, number = ctx.person.display_name or "-", ctx.person.agency_number
        message = ctx.content.t(
            "feedback.reply_message", admin.lang, number=number, name=name, text=text
        )
        ctx.send_to(account, [Reply(text=message)], kind="feedback")
    ctx.say(ctx.t("feedback.reply_sent" if account else "feedback.reply_kept"))
