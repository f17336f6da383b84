"""The rich menus under the LINE chat: `dlcoach line richmenu` installs one per part
of the journey and the working group's, with aliases for the tabs, idempotently;
delivery links each person's menu as they move on (checked on the fake LINE API)."""

from __future__ import annotations

import logging
from io import BytesIO

import httpx
from PIL import Image
from sqlmodel import delete, select
from typer.testing import CliRunner

from bot.channels.line.richmenu import DEFAULT_ALIAS, OLD_NAMES, draw_all, install
from bot.cli import cli
from storage.accounts import forget_menus
from storage.db import transaction
from storage.models import AdminRole, ChannelAccount
from tests.bot.channels.test_line import TOKEN, LineUser
from tests.bot.channels.test_line import harness as harness  # noqa: F401 - the fixture
from tests.drivers.chat import t
from tests.drivers.journey import first_step1, onboard, step2
from tests.drivers.working_group import invite
from tests.fakes.line_api import FakeLineServer
from tests.fakes.line_webhook import postback_event

STAFF = ("dlcoach-know", "dlcoach-grow", "dlcoach-review")
ADMIN = ("dlcoach-admin-know", "dlcoach-admin-grow", "dlcoach-admin-review", "dlcoach-admin-wg")


def richmenu(tmp_path, monkeypatch, line: FakeLineServer, *args: str):  # noqa: ANN001, ANN201
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("LINE_API_BASE_URL", line.base_url)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'menu.db'}")
    return CliRunner().invoke(cli, ["line", "richmenu", *args])


def menu_of(line: FakeLineServer, alias: str):  # noqa: ANN201
    return line.rich_menus[line.rich_menu_aliases[alias]]


def menu_made_by_hand(line: FakeLineServer, name: str) -> str:
    """A menu someone made in the console (or an older version of the bot)."""
    body = {
        "size": {"width": 2500, "height": 843},
        "selected": False,
        "name": name,
        "chatBarText": "Menu",
        "areas": [],
    }
    made = httpx.post(
        f"{line.base_url}/v2/bot/richmenu", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    made.raise_for_status()
    return made.json()["richMenuId"]


def test_richmenu_installs_a_menu_per_stage_with_tabs_and_changes_nothing_when_run_again(
    tmp_path, monkeypatch
):
    with FakeLineServer(access_token=TOKEN) as line:
        # Another tool's menu on the channel is left alone; our older single menu goes.
        foreign, older = (menu_made_by_hand(line, name) for name in ("campaign", OLD_NAMES[0]))
        result = richmenu(tmp_path, monkeypatch, line, "--image-out", "menus")
        assert result.exit_code == 0, result.output
        assert "7 created" in result.output and "1 older ones deleted" in result.output
        assert line.deleted_rich_menus == [older] and foreign in line.rich_menus
        assert sorted(line.rich_menu_aliases) == sorted(STAFF + ADMIN)
        assert set(line.rich_menu_aliases.values()) == set(line.rich_menus) - {foreign}
        assert line.default_rich_menu_id == line.rich_menu_aliases[DEFAULT_ALIAS]
        for alias in STAFF + ADMIN:
            menu = menu_of(line, alias)
            with Image.open(BytesIO(menu.image)) as image:
                assert image.size == (2500, 1686)
            assert (tmp_path / "menus" / f"{alias}.png").read_bytes() == menu.image
            areas = menu.menu["areas"]
            tabs = [a["action"] for a in areas if a["action"]["type"] == "richmenuswitch"]
            # Every tab switches to a menu that exists, without a round trip.
            assert all(tab["richMenuAliasId"] in line.rich_menu_aliases for tab in tabs)
            assert len(tabs) == (4 if alias in ADMIN else 3)
            buttons = [a["action"] for a in areas if a["action"]["type"] == "postback"]
            assert len(buttons) == 6 and all(b["data"].startswith("c=go:") for b in buttons)
            assert all(1 <= len(a["action"]["label"]) <= 20 for a in areas)
        group = [a["action"]["data"] for a in menu_of(line, "dlcoach-admin-wg").menu["areas"]]
        assert "c=go:summary" in group and "c=go:export" in group
        assert "c=go:continue" in [
            a["action"]["data"] for a in menu_of(line, "dlcoach-grow").menu["areas"]
        ]

        # Again: nothing is created, deleted or moved.
        before = (dict(line.rich_menus), dict(line.rich_menu_aliases))
        again = richmenu(tmp_path, monkeypatch, line)
        assert again.exit_code == 0, again.output
        assert "0 created" in again.output and "nothing changed" in again.output
        assert (dict(line.rich_menus), dict(line.rich_menu_aliases)) == before
        assert line.deleted_rich_menus == [older]

        # Asked to link every chat again: the database is told, or says why not.
        relinked = richmenu(tmp_path, monkeypatch, line, "--relink")
        assert relinked.exit_code == 0 and "0 LINE chats get their menu again" in relinked.output
        monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
        down = CliRunner().invoke(cli, ["line", "richmenu", "--relink"])
        assert down.exit_code == 1 and "--relink` when it answers" in down.output
        assert "Traceback" not in down.output
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'menu.db'}")

        # Other labels (English): new menus, the aliases move to them, the old ones go.
        english = richmenu(tmp_path, monkeypatch, line, "--lang", "en")
        assert english.exit_code == 0, english.output
        assert "7 created" in english.output and "7 older ones deleted" in english.output
        assert set(line.deleted_rich_menus) == {older, *before[0]} - {foreign}
        assert set(line.rich_menu_aliases.values()) == set(line.rich_menus) - {foreign}
        labels = [a["action"]["label"] for a in menu_of(line, "dlcoach-know").menu["areas"]]
        assert "1-2 Know" in labels and "Working group" not in labels

        monkeypatch.delenv("LINE_CHANNEL_ACCESS_TOKEN")
        assert CliRunner().invoke(cli, ["line", "richmenu"]).exit_code == 2


async def installed(h) -> dict[str, str]:  # noqa: ANN001
    """The menus on the harness's fake LINE API, as `dlcoach line richmenu` puts them."""
    done = await install(h.app.settings, draw_all(h.app.content, "th"))
    return done.menus


async def test_the_menu_follows_a_person_from_step_2_to_step_3(harness):
    h = harness
    menus = await installed(h)
    person = LineUser(h)
    await onboard(person)
    assert h.line.user_rich_menus[person.user_id] == menus["dlcoach-know"]
    await first_step1(person)
    links = len(h.line.requests_to("/richmenu/" + menus["dlcoach-know"], method="POST"))
    await step2(person)  # the last tap moves the person to step 3
    assert h.line.user_rich_menus[person.user_id] == menus["dlcoach-grow"]
    grow_links = h.line.requests_to("/richmenu/" + menus["dlcoach-grow"], method="POST")
    assert len(grow_links) == 1
    # Within a part of the journey the menu is linked again only when it changes
    # (step 2's questions were one more: the self-assessment is at hand there).
    know_links = h.line.requests_to("/richmenu/" + menus["dlcoach-know"], method="POST")
    assert len(know_links) - links <= 1
    account = await h.account(person.user_id)
    assert account.menu == "th:grow"


async def test_a_working_group_member_gets_the_menu_with_its_tab_and_loses_it_when_revoked(
    harness,
):
    h = harness
    menus = await installed(h)
    person = LineUser(h)
    await onboard(person)
    code = await invite(h.app, "member")
    await person.say(f"/admin {code}")
    assert h.line.user_rich_menus[person.user_id] == menus["dlcoach-admin-know"]
    # A tap on a tab asks nothing of the bot: LINE switched the menu on the phone.
    replies = len(h.line.replies)
    await h.post(postback_event(person.user_id, "c=tab:dlcoach-admin-wg", server=h.line))
    assert len(h.line.replies) == replies
    # The working group's buttons run its commands.
    await h.post(postback_event(person.user_id, "c=go:summary", server=h.line))
    assert len(h.line.replies) == replies + 1

    async with transaction(h.app.sessions) as session:  # revoked in the dashboard
        await session.exec(delete(AdminRole))
    await person.say("/progress")
    assert h.line.user_rich_menus[person.user_id] == menus["dlcoach-know"]


async def test_without_installed_menus_the_answers_go_and_the_fix_is_logged(harness, caplog):
    h = harness
    person = LineUser(h)
    with caplog.at_level(logging.WARNING):
        await onboard(person)
    assert person.user_id not in h.line.user_rich_menus
    assert len(person.texts()) >= 7 and person.buttons()  # every answer arrived
    assert any("dlcoach line richmenu" in r.getMessage() for r in caplog.records)


async def test_a_failing_link_holds_the_row_back_until_line_answers(harness):
    h = harness
    menus = await installed(h)
    person = LineUser(h)
    await onboard(person)
    await first_step1(person)
    await step2(person)
    assert h.line.user_rich_menus[person.user_id] == menus["dlcoach-grow"]

    # The next menu change meets a LINE outage: nothing of the row goes until it ends.
    async with transaction(h.app.sessions) as session:
        account = (await session.exec(select(ChannelAccount))).one()
        account.menu = "th:know"  # as if the person were still at step 2
        session.add(account)
    h.line.fail_next("/richmenu/" + menus["dlcoach-grow"], status=500, times=1, method="POST")
    sent = len(h.line.delivered(person.user_id))
    await person.say("/progress")
    assert len(h.line.delivered(person.user_id)) == sent
    h.clock.advance(minutes=5)
    await h.deliver()
    assert len(h.line.delivered(person.user_id)) > sent
    assert h.line.user_rich_menus[person.user_id] == menus["dlcoach-grow"]


async def test_erasing_ones_data_takes_ones_menu_away(harness):
    h = harness
    await installed(h)
    person = LineUser(h)
    await onboard(person)
    assert person.user_id in h.line.user_rich_menus
    await person.say("/deleteme")
    await person.tap("erase:yes")
    assert person.user_id not in h.line.user_rich_menus  # the default again, as for a stranger
    assert person.texts()[-1] == t(h.app, "privacy.erased")


async def test_menus_replaced_while_the_bot_runs_are_found_again(harness):
    h = harness
    await installed(h)
    person = LineUser(h)
    await onboard(person)  # the channel now keeps the know menu's id
    replaced = await install(h.app.settings, draw_all(h.app.content, "en"))
    async with transaction(h.app.sessions) as session:
        assert await forget_menus(session, "line") == 1  # as the command does after a change
    await person.say("/progress")
    assert h.line.user_rich_menus[person.user_id] == replaced.menus["dlcoach-know"]
