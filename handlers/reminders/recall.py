"""Recall: a few days after a learning entry, the reminder asks one question about
it ("you learned X: where could you use it this week?"); see the "recall" rule in
`handlers.reminders.rules`. These are the buttons that nudge carries and what
they lead to.

- "answer" asks for a few words; the answer is kept as an entry of kind "recall"
  (linked to the learning entry) and offered back with one button that makes
  it a step 5 evidence entry: the answer as the task, the learning entry's
  skill, in the round of the learning entry, shaped like one logged in step 5
  (without a tool, result or outcome, which nobody was asked for), so reports
  count it as a use at work like any other.
- "skip" stores nothing.

A person still in step 4 may make the evidence too: it is stored at once, counts
in reports from the day it is written (reports count evidence by date, whatever
the step), and is already in the step 5 logbook when they get there. The
button keeps working later, e.g. once the answer has really been put to use;
a second tap makes no second entry.
"""

from __future__ import annotations

from sqlmodel import func, select

from handlers.common import CANCEL, free_text, is_cancel
from handlers.context import Answer, Ctx
from handlers.conversation import BACK, HOLD, REASK, Next
from handlers.errors import Reprompt
from handlers.journey import add_entry
from handlers.messages import Choice
from handlers.reminders.facts import learned_words
from handlers.reminders.render import (
    RECALL_ANSWER,
    RECALL_EVIDENCE,
    RECALL_QUOTE_MAX,
    RECALL_SKIP,
    short_quote,
)
from handlers.reminders.rules import RECALL
from handlers.typed import whole_number
from storage.models import Journey, Nudge, StepEntry
from storage.models.nudges import SENT

KIND = "recall"  # StepEntry.kind of a kept answer; data: learning (entry id), evidence
LEARNING, EVIDENCE = "learning", "evidence"  # the logbooks' StepEntry kinds (steps 4, 5)
ANSWER_STATE = "recall.answer"
TYPED_MIN = 6  # characters of typed words, at least, to be taken as a recall's answer


async def _own(ctx: Ctx, entry_id: int | None, kind: str) -> StepEntry | None:
    """The person's own entry of `kind` with this id, or None."""
    if entry_id is None:
        return None
    entry = await ctx.session.get(StepEntry, entry_id)
    assert ctx.person is not None
    if entry is None or entry.person_id != ctx.person.id or entry.kind != kind:
        return None
    return entry


async def _kept_answer(ctx: Ctx, learning: StepEntry) -> StepEntry | None:
    """The answer already kept for this learning entry, if any."""
    rows = await ctx.session.exec(
        select(StepEntry).where(StepEntry.person_id == learning.person_id, StepEntry.kind == KIND)
    )
    return next((e for e in rows.all() if e.data.get(LEARNING) == learning.id), None)


async def recall_button(ctx: Ctx, choice: str) -> Next:
    """A button under a recall: answer it, skip it, or make the kept answer evidence."""
    for prefix, action in (
        (RECALL_ANSWER, _answer),
        (RECALL_SKIP, _skip),
        (RECALL_EVIDENCE, _to_evidence),
    ):
        if choice.startswith(prefix):
            number = whole_number(choice.removeprefix(prefix))
            if number is not None:
                return await action(ctx, number)
    ctx.say(ctx.t("common.stale_button"))
    return REASK


async def _answer(ctx: Ctx, learning_id: int) -> Next:
    learning = await _own(ctx, learning_id, LEARNING)
    if learning is None:
        ctx.say(ctx.t("common.stale_button"))
        return REASK
    kept = await _kept_answer(ctx, learning)
    if kept is not None and kept.data.get(EVIDENCE):
        ctx.say(ctx.t("recall.already"))
        return HOLD
    ctx.set_data(recall=learning.id)
    return ANSWER_STATE


async def _skip(ctx: Ctx, learning_id: int) -> Next:
    ctx.say(ctx.t("recall.skipped"))
    return HOLD


async def ask_answer(ctx: Ctx) -> None:
    """Ask where the person could use what they learned."""
    learning = await _own(ctx, ctx.data.get("recall"), LEARNING)
    what = learned_words(learning.text, learning.data) if learning else ""
    ctx.ask(
        ctx.t("recall.ask", what=short_quote(what, RECALL_QUOTE_MAX)),
        [Choice(CANCEL, ctx.t("recall.cancel"))],
    )


async def answer_answer(ctx: Ctx, answer: Answer) -> Next:
    """Keep the answer, and offer to make it a step 5 evidence entry in one tap."""
    if is_cancel(ctx, answer):
        ctx.say(ctx.t("recall.cancelled"))
        return BACK
    text = free_text(answer)
    learning = await _own(ctx, ctx.data.get("recall"), LEARNING)
    ctx.set_data(recall=None)
    if learning is None:  # erased or gone meanwhile: nothing to link the answer to
        ctx.say(ctx.t("common.stale_button"))
        return BACK
    kept = await _keep(ctx, learning, text)
    ctx.offer(
        ctx.t("recall.kept"),
        [Choice(f"{RECALL_EVIDENCE}{kept.id}", ctx.t("recall.to_evidence"))],
    )
    return BACK


async def _keep(ctx: Ctx, learning: StepEntry, text: str) -> StepEntry:
    """Keep `text` as the answer about `learning` (replacing an earlier one)."""
    kept = await _kept_answer(ctx, learning)
    if kept is None:
        journey = await ctx.session.get(Journey, learning.journey_id)
        assert journey is not None
        return await add_entry(
            ctx, KIND, text, skill_id=learning.skill_id, journey=journey, learning=learning.id
        )
    kept.text = text
    ctx.session.add(kept)
    return kept


async def typed_answer(ctx: Ctx, text: str) -> Next | None:
    """Words typed right after a recall came, without tapping "answer" first: the
    question was the last thing the person read, so they are its answer. They are
    kept (and offered as evidence) as if "answer" had been tapped, and the person's
    own question is asked again. Not so for a short word ("ok", a polite particle), for a
    recall already answered, or once anything was written after the recall came."""
    assert ctx.conv is not None
    if ctx.conv.state == ANSWER_STATE or len(text) < TYPED_MIN or not _any_push_since(ctx):
        return None  # (already asked for the answer: that question takes it)
    try:
        text = free_text(Answer(text=text, choice=None))
    except Reprompt:
        return None
    learning = await _open_recall(ctx)
    if learning is None or await _kept_answer(ctx, learning) is not None:
        return None
    kept = await _keep(ctx, learning, text)
    what = learned_words(learning.text, learning.data)
    ctx.offer(
        ctx.t("recall.kept_typed", what=short_quote(what, RECALL_QUOTE_MAX)),
        [Choice(f"{RECALL_EVIDENCE}{kept.id}", ctx.t("recall.to_evidence"))],
    )
    return REASK


def _any_push_since(ctx: Ctx) -> bool:
    """Whether a nudge may have come since the person last wrote (the counter the
    turn read says when the last one went; without it, look)."""
    if not ctx.nudge_counter_known:
        return True
    counter = ctx.nudge_counter
    if counter is None or counter.last_sent_at is None:
        return False
    return ctx.active_before is None or counter.last_sent_at > ctx.active_before


async def _open_recall(ctx: Ctx) -> StepEntry | None:
    """The learning entry of the recall sent since the person last wrote, if any."""
    assert ctx.person is not None
    query = (
        select(Nudge.detail)
        .where(Nudge.person_id == ctx.person.id, Nudge.kind == RECALL, Nudge.status == SENT)
        .order_by(Nudge.sent_at.desc())  # type: ignore[union-attr]
        .limit(1)
    )
    if ctx.active_before is not None:
        query = query.where(Nudge.sent_at > ctx.active_before)  # type: ignore[operator]
    detail = (await ctx.session.exec(query)).first()
    if not detail:
        return None
    return await _own(ctx, whole_number(str(detail.get("entry", ""))), LEARNING)


async def _to_evidence(ctx: Ctx, kept_id: int) -> Next:
    """One tap: the kept answer becomes an evidence entry (once)."""
    kept = await _own(ctx, kept_id, KIND)
    if kept is None:
        ctx.say(ctx.t("common.stale_button"))
        return REASK
    if kept.data.get(EVIDENCE):
        ctx.say(ctx.t("recall.already"))
        return HOLD
    journey = await ctx.session.get(Journey, kept.journey_id)
    assert journey is not None
    evidence = await add_entry(
        ctx,
        EVIDENCE,
        kept.text,
        skill_id=kept.skill_id,
        journey=journey,
        task=kept.text,
        recall=kept.id,
    )
    kept.data = {**kept.data, EVIDENCE: evidence.id}
    ctx.session.add(kept)
    count = await ctx.session.exec(
        select(func.count())
        .select_from(StepEntry)
        .where(StepEntry.journey_id == journey.id, StepEntry.kind == EVIDENCE)
    )
    key = "recall.saved" if journey.current_step >= 5 else "recall.saved_early"
    ctx.say(ctx.t(key, count=int(count.one())))
    return HOLD
