"""What every member of staff can send the working group, at any time:
opinions and suggestions (/idea), and answers to an admin's feedback (the
"reply" button on the feedback message, or /reply).

Each is a one-question detour: the person's place in the journey is kept in
`_return` and the question they were on is asked again afterwards.
"""

from __future__ import annotations

from sqlmodel import select

from handlers.admin.outbound import push_to_people
from handlers.common import free_text
from handlers.context import Answer, Ctx
from handlers.errors import Reprompt
from handlers.messages import Choice, Reply
from storage.models import Feedback, Idea, Person

IDEA_STATE = "idea.text"
REPLY_STATE = "feedback.reply"
BROADCAST_STATE = "admin.broadcast"
OWN_STATES = {IDEA_STATE, REPLY_STATE, BROADCAST_STATE}
CANCEL = "x:cancel"


def back(ctx: Ctx) -> str:
    """The state the person was in before the detour."""
    return str(ctx.data.get("_return") or "menu")


def enter_detour(ctx: Ctx, **data: object) -> None:
    """Remember where to come back to (unless already on a detour), and the detour's data."""
    assert ctx.conv is not None
    if ctx.conv.state not in OWN_STATES:
        ctx.set_data(_return=ctx.conv.state)
    ctx.set_data(**data)


def _cancel_choice(ctx: Ctx) -> Choice:
    return Choice(CANCEL, ctx.t("admin.cancel"))


# ---- /idea -------------------------------------------------------------------------------


async def cmd_idea(ctx: Ctx, argument: str) -> None:
    """/idea TEXT sends an opinion or suggestion to the working group; /idea alone asks for it."""
    from handlers.flow import goto, reask

    assert ctx.person is not None
    if ctx.person.agency_id is None:
        ctx.say(ctx.t("idea.need_agency"))
        await reask(ctx)
        return
    text = argument.strip()
    if text:
        try:
            _save_idea(ctx, free_text(Answer(text=text)))
        except Reprompt as problem:
            ctx.say(ctx.t(problem.message_key, **problem.values))
        await reask(ctx)
        return
    enter_detour(ctx)
    await goto(ctx, IDEA_STATE)


def _save_idea(ctx: Ctx, text: str) -> None:
    assert ctx.person is not None and ctx.person.agency_id is not None
    ctx.session.add(
        Idea(person_id=ctx.person.id, agency_id=ctx.person.agency_id, text=text, created_at=ctx.now)
    )
    ctx.say(ctx.t("idea.thanks"))


async def ask_idea(ctx: Ctx) -> None:
    """Ask for the opinion or suggestion."""
    ctx.ask(ctx.t("idea.ask"), [_cancel_choice(ctx)])


async def answer_idea(ctx: Ctx, answer: Answer) -> str:
    if answer.choice == CANCEL:
        ctx.say(ctx.t("admin.cancelled"))
        return back(ctx)
    _save_idea(ctx, free_text(answer, min_len=2))
    return back(ctx)


# ---- answering an admin's feedback -----------------------------------------------------------


async def _feedback_for(ctx: Ctx, feedback_id: int | None) -> Feedback | None:
    """The feedback `feedback_id` if it was sent to this person; else their latest one."""
    assert ctx.person is not None
    query = select(Feedback).where(Feedback.to_person_id == ctx.person.id)
    if feedback_id is not None:
        query = query.where(Feedback.id == feedback_id)
    result = await ctx.session.exec(query.order_by(Feedback.id.desc()).limit(1))  # type: ignore[attr-defined]
    return result.first()


async def cmd_reply(ctx: Ctx, argument: str) -> None:
    """/reply TEXT answers the latest message from the working group; /reply alone asks."""
    from handlers.flow import goto, reask

    original = await _feedback_for(ctx, None)
    if original is None:
        ctx.say(ctx.t("feedback.nothing_to_reply"))
        await reask(ctx)
        return
    if argument.strip():
        try:
            await _deliver_reply(ctx, original, free_text(Answer(text=argument)))
        except Reprompt as problem:
            ctx.say(ctx.t(problem.message_key, **problem.values))
        await reask(ctx)
        return
    enter_detour(ctx, reply_to=original.id)
    await goto(ctx, REPLY_STATE)


async def reply_button(ctx: Ctx, choice: str) -> None:
    """The "reply" button under a feedback message (sent outside the conversation)."""
    from handlers.flow import goto, reask

    raw = choice.removeprefix("fb:")
    original = await _feedback_for(ctx, int(raw)) if raw.isdigit() else None
    if original is None:
        ctx.say(ctx.t("common.stale_button"))
        await reask(ctx)
        return
    enter_detour(ctx, reply_to=original.id)
    await goto(ctx, REPLY_STATE)


async def ask_reply(ctx: Ctx) -> None:
    """Ask for the answer to the working group's message."""
    ctx.ask(ctx.t("feedback.ask_reply"), [_cancel_choice(ctx)])


async def answer_reply(ctx: Ctx, answer: Answer) -> str:
    if answer.choice == CANCEL:
        ctx.say(ctx.t("admin.cancelled"))
        return back(ctx)
    text = free_text(answer)
    original = await _feedback_for(ctx, ctx.data.get("reply_to"))
    if original is not None:
        await _deliver_reply(ctx, original, text)
    return back(ctx)


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
    name, number = ctx.person.display_name or "-", ctx.person.id
    sent = []
    if admin is not None:
        sent = await push_to_people(
            ctx.session,
            [admin],
            lambda person: [
                Reply(
                    text=ctx.content.t(
                        "feedback.reply_message", person.lang, number=number, name=name, text=text
                    )
                )
            ],
            kind="feedback",
            now=ctx.now,
        )
    ctx.say(ctx.t("feedback.reply_sent" if sent else "feedback.reply_kept"))
