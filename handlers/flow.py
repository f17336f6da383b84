"""The conversation's table: every state, command and button, and where each leads.

Reading order: `STATES` is the whole conversation at a glance (each state's
question, its answer, and the states its answer may lead to); `COMMANDS` work
from any state; `GROUP_COMMANDS` are what the bot answers in group chats;
`PUSHED` are buttons on messages sent outside the conversation. The engine
(`handlers.engine`) routes by this table and nothing else.

Bump `FLOW_VERSION` when a state is renamed or removed: a person whose stored
state an older table wrote restarts their current step instead of answering
a question that no longer exists.
"""

from __future__ import annotations

from handlers import commands, journey, onboarding, presence, privacy
from handlers.admin import commands as admin
from handlers.admin import staff
from handlers.conversation import (
    BACK,
    END,
    HOLD,
    REASK,
    RESUME,
    AnswerFn,
    AskFn,
    Command,
    Entry,
    State,
    Typed,
)
from handlers.engine import Flow
from handlers.reminders import recall
from handlers.reminders import settings as remind
from handlers.reminders.render import RECALL_BUTTON
from handlers.steps import assess, plan, review, understand
from handlers.steps.logbook import APPLY, LEARN
from handlers.steps.logbook import states as logbook_states

FLOW_VERSION = 1

PLAN_DETAILS = ("s3.pick", "s3.target", "s3.date", "s3.approach", "s3.plan")
REMIND_STATES = ("remind.menu", "remind.time", "remind.days", "remind.pause", "remind.quiet")


def _assessing(ask: AskFn, answer: AnswerFn, *, step: int) -> State:
    """A screen of the self-assessment of `step` (2 or 6: its intro or a skill's
    question): it leads to the next skill or the result, and it also takes the
    one-screen page's answer (every level at once), which goes to the result."""
    return State(
        ask, answer, to=(f"s{step}.rate", f"s{step}.result"), accepts=(assess.ALL_AT_ONCE,)
    )


STATES: dict[str, State] = {
    # onboarding (after consent)
    "onboard.name": State(onboarding.ask_name, onboarding.answer_name, to=("onboard.agency",)),
    "onboard.agency": State(
        onboarding.ask_agency, onboarding.answer_agency, to=("onboard.staff", "onboard.unit")
    ),
    "onboard.staff": State(
        onboarding.ask_staff,
        onboarding.answer_staff,
        to=("onboard.unit", "onboard.group", "onboard.remind"),
    ),
    "onboard.unit": State(onboarding.ask_unit, onboarding.answer_unit, to=("onboard.group",)),
    "onboard.group": State(onboarding.ask_group, onboarding.answer_group, to=("onboard.remind",)),
    "onboard.remind": State(onboarding.ask_remind, onboarding.answer_remind, to=("s1.intro",)),
    # step 1: understand why
    # (short reading screens, each waiting for "next"; a later round skips them
    # unless the person asks to read again from the reason question)
    "s1.intro": State(
        understand.ask_intro, understand.answer_intro, to=("s1.what", "s1.reason", REASK)
    ),
    "s1.what": State(understand.ask_what, understand.answer_what, to=("s1.skills", REASK)),
    "s1.skills": State(
        understand.ask_skills, understand.answer_skills, to=("s1.skills", "s1.why", REASK)
    ),
    "s1.why": State(understand.ask_why, understand.answer_why, to=("s1.reason", REASK)),
    "s1.reason": State(
        understand.ask_reason, understand.answer_reason, to=("s2.intro", "s1.intro")
    ),
    # step 2: self-assess (pre)
    "s2.intro": _assessing(assess.ask_pre_intro, assess.answer_pre_intro, step=2),
    "s2.rate": _assessing(assess.ask_pre_rating, assess.answer_pre_rating, step=2),
    "s2.result": State(assess.ask_pre_result, assess.answer_pre_result, to=("s3.pick",)),
    # step 3: goals and plan (each answer leads to the first detail still missing)
    "s3.pick": State(plan.ask_pick, plan.answer_pick, to=PLAN_DETAILS),
    "s3.target": State(plan.ask_target, plan.answer_target, to=PLAN_DETAILS),
    "s3.date": State(plan.ask_date, plan.answer_date, to=PLAN_DETAILS),
    "s3.approach": State(plan.ask_approach, plan.answer_approach, to=PLAN_DETAILS),
    "s3.plan": State(plan.ask_plan, plan.answer_plan, to=("s3.action", "s4.menu")),
    "s3.action": State(plan.ask_action, plan.answer_action, to=("s3.plan", "s4.menu")),
    # step 4: learn (s4.menu, s4.skill, s4.what, s4.minutes, s4.learned)
    **logbook_states(LEARN, following="s5.menu"),
    # step 5: apply at work (s5.menu, s5.skill, s5.task, s5.tool, s5.result, s5.outcome)
    **logbook_states(APPLY, following="s6.intro"),
    # step 6: review and share (post)
    "s6.intro": _assessing(review.ask_intro, review.answer_intro, step=6),
    "s6.rate": _assessing(review.ask_post_rating, review.answer_post_rating, step=6),
    "s6.result": State(review.ask_result, review.answer_result, to=("s6.reflect",)),
    "s6.reflect": State(review.ask_reflect, review.answer_reflect, to=("s6.tip",)),
    "s6.tip": State(review.ask_tip, review.answer_tip, to=(REASK, "done")),
    "done": State(review.ask_done, review.answer_done, to=("s1.intro",)),
    # detours: from wherever the person is, and BACK to it
    "menu": State(
        commands.ask_menu,
        commands.answer_menu,
        to=(REASK, "remind.menu", RESUME),
        detour=True,
        hands_back=True,
    ),
    "remind.menu": State(
        remind.ask_menu, remind.answer_menu, to=(*REMIND_STATES, BACK), detour=True
    ),
    "remind.time": State(remind.ask_time, remind.answer_time, to=("remind.menu",), detour=True),
    "remind.days": State(
        remind.ask_days, remind.answer_days, to=("remind.days", "remind.menu"), detour=True
    ),
    "remind.pause": State(remind.ask_pause, remind.answer_pause, to=("remind.menu",), detour=True),
    "remind.quiet": State(remind.ask_quiet, remind.answer_quiet, to=("remind.menu",), detour=True),
    "privacy.confirm": State(
        privacy.ask_confirm, privacy.answer_confirm, to=(BACK, END), detour=True
    ),
    "admin.broadcast_text": State(
        admin.ask_broadcast_text,
        admin.answer_broadcast_text,
        to=("admin.broadcast", HOLD),
        detour=True,
    ),
    "admin.broadcast": State(admin.ask_broadcast, admin.answer_broadcast, to=(HOLD,), detour=True),
    "admin.nudge": State(admin.ask_nudge, admin.answer_nudge, to=(HOLD,), detour=True),
    "admin.award": State(admin.ask_award, admin.answer_award, to=(HOLD,), detour=True),
    "recall.answer": State(recall.ask_answer, recall.answer_answer, to=(BACK,), detour=True),
    "idea.text": State(staff.ask_idea, staff.answer_idea, to=(BACK,), detour=True),
    "feedback.reply": State(staff.ask_reply, staff.answer_reply, to=(BACK,), detour=True),
}

COMMANDS: dict[str, Command] = {
    "start": Command(commands.cmd_start, to=(RESUME,)),
    "continue": Command(commands.cmd_continue, to=(RESUME,)),
    "menu": Command(commands.cmd_menu, to=("menu",)),
    "progress": Command(commands.cmd_progress),
    "lang": Command(commands.cmd_lang),
    "help": Command(commands.cmd_help),
    "mydata": Command(privacy.cmd_mydata),
    "deleteme": Command(privacy.cmd_deleteme, to=("privacy.confirm",)),
    "remind": Command(remind.cmd_remind, to=(REASK, "remind.menu")),
    # everyone: talk to the working group
    "idea": Command(staff.cmd_idea, to=(REASK, "idea.text")),
    "reply": Command(staff.cmd_reply, to=(REASK, "feedback.reply")),
    # the working group (each checks the sender's role first)
    "admin": Command(admin.cmd_admin, to=(HOLD,)),
    **{
        name: Command(admin.private_command(name), to=(HOLD, REASK, *command.leads_to))
        for name, command in admin.ADMIN_COMMANDS.items()
    },
}

GROUP_COMMANDS = {name: admin.group_command(name) for name in admin.GROUP_COMMANDS}

PUSHED: dict[str, Command] = {
    "fb:": Command(staff.reply_button, to=(REASK, "feedback.reply")),
    "pv:": Command(admin.record_button, to=(HOLD, REASK)),
    "ex:": Command(admin.award_button, to=(HOLD, REASK, "admin.award")),
    "lr:": Command(remind.resume_button, to=(REASK,)),  # reminders paused by the ladder
    RECALL_BUTTON: Command(recall.recall_button, to=(HOLD, REASK, recall.ANSWER_STATE)),
}

FLOW = Flow(
    version=FLOW_VERSION,
    states=STATES,
    commands=COMMANDS,
    group_commands=GROUP_COMMANDS,
    pushed=PUSHED,
    stranger=Entry(onboarding.stranger, to=("onboard.name", END)),
    follow=Entry(commands.welcome_back, to=(REASK,)),
    entry=journey.where_it_stands,
    arrive=presence.arrive,
    leave=presence.leave,
    typed=Typed(recall.typed_answer, to=(REASK,)),
)
