"""Telegram menus that follow the person: each chat's own command list (the working
group's commands only in its members' chats, the head's only in heads'), in the
person's language, and the menu button opening the one-screen assessment while
a self-assessment is the question at hand."""

from __future__ import annotations

from bot.channels.telegram import menu_commands
from tests.bot.channels.test_telegram import TelegramUser, running_bot
from tests.bot.channels.test_telegram import server as server  # noqa: F401 - the fixture
from tests.drivers.journey import first_step1, onboard, step2
from tests.drivers.working_group import invite

PUBLIC_URL = "https://bot.example.go.th"


def names(commands: list[dict]) -> list[str]:
    return [c["command"] for c in commands]


async def test_the_menu_button_opens_the_assessment_in_step_2_and_goes_back_after(
    server, tmp_path, content
):
    async with running_bot(server, tmp_path, dlcoach_public_url=PUBLIC_URL) as bot:
        person = TelegramUser(bot, user_id=5550101)
        await onboard(person)
        staff = [c.to_dict() for c in menu_commands(content, "th")]
        assert server.chat_commands(person.user_id) == staff
        assert server.menu_button(person.user_id) == {"type": "commands"}

        await first_step1(person)  # now at step 2's introduction
        button = server.menu_button(person.user_id)
        assert button["type"] == "web_app"
        assert button["web_app"]["url"] == f"{PUBLIC_URL}/assess/telegram"
        assert button["text"] == content.t("telegram.menu_button.assess", "th")

        await step2(person)  # on to step 3: the plain command menu again
        assert server.menu_button(person.user_id) == {"type": "commands"}

        await person.say("/lang en")
        english = names(server.chat_commands(person.user_id))
        assert english == names(staff)
        assert server.chat_commands(person.user_id)[0]["description"] == content.t(
            "telegram.command.start", "en"
        )


async def test_working_group_commands_are_listed_to_its_members_only(server, tmp_path, content):
    async with running_bot(server, tmp_path) as bot:
        staff = TelegramUser(bot, user_id=5550201)
        member = TelegramUser(bot, user_id=5550202)
        head = TelegramUser(bot, user_id=5550203)
        for person in (staff, member, head):
            await onboard(person)
        await member.say(f"/admin {await invite(bot.app, 'member')}")
        await head.say(f"/admin {await invite(bot.app, 'head')}")

        everyone = names([c.to_dict() for c in menu_commands(content, "th")])
        assert names(server.chat_commands(staff.user_id)) == everyone
        listed = names(server.chat_commands(member.user_id))
        assert listed[: len(everyone)] == everyone
        assert "summary" in listed and "export" in listed and "broadcast" not in listed
        headed = names(server.chat_commands(head.user_id))
        assert "summary" in headed and "broadcast" in headed and "holdout" in headed
        # Nobody else's list changed: the default menu stays the staff one.
        assert names(server.commands["th"]) == everyone
        # Without a public https address there is no page to open: the button stays.
        assert server.menu_button(head.user_id) == {"type": "commands"}


async def test_erasing_ones_data_takes_ones_own_menu_away(server, tmp_path):
    async with running_bot(server, tmp_path, dlcoach_public_url=PUBLIC_URL) as bot:
        person = TelegramUser(bot, user_id=5550301)
        await onboard(person)
        await first_step1(person)
        assert server.chat_commands(person.user_id)
        assert server.menu_button(person.user_id)["type"] == "web_app"
        await person.say("/deleteme")
        await person.tap("erase:yes")
        assert server.chat_commands(person.user_id) == []
        assert server.menu_button(person.user_id) == {"type": "default"}
