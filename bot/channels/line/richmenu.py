"""`dlcoach line richmenu`: the menus under the LINE chat, one per part of the
journey, drawn here so an agency needs no designer and no image file.

Each menu is 2500x1686 (LINE's large size): a row of tabs on top and six
buttons under it. The tabs are the parts of the journey (steps 1-2, 3-5, 6) and,
for the working group's members, a tab of their commands; a tab is a
`richmenuswitch` action to the alias of another menu, so LINE switches it on
the phone without asking the bot. Which menu a person gets is the bot's choice
(`alias_for`): delivery links their part of the journey's menu to them when
they move on (`LineChannel`), and the first part's is everyone's default.

Buttons are postbacks `c=go:<command>` with no question number: the channel
turns them into the typed command, so they work from any point of the
conversation. Labels come from content/ in the chosen language with the other
language underneath.

Installing is idempotent: a menu's name carries a fingerprint of its layout and
image, so a run that changes nothing creates nothing; aliases are created or
moved to the new menus before older menus of this bot are deleted.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
from dataclasses import dataclass, field

from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    CreateRichMenuAliasRequest,
    PostbackAction,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
    RichMenuSwitchAction,
    UpdateRichMenuAliasRequest,
)
from PIL import Image, ImageDraw, ImageFont

from bot.channels.line.api import api_configuration
from bot.channels.text import truncate
from bot.config import Settings
from content.loader import Content
from documents.fonts import sarabun
from handlers.messages import MENU_STAGES, Menu

log = logging.getLogger(__name__)

NAME_PREFIX = "dlcoach "  # every menu this bot makes; others on the channel are left alone
OLD_NAMES = ("dlcoach default menu",)  # the single menu of earlier versions
ALIAS_PREFIX = "dlcoach-"
WORKING_GROUP = "wg"
WIDTH, HEIGHT = 2500, 1686
TAB_HEIGHT = 230
COLUMNS, ROWS = 3, 2
MAX_IMAGE_BYTES = 1024 * 1024
MAX_CHAT_BAR_TEXT = 14
MAX_ACTION_LABEL = 20
TAB_DATA = "c=tab:"  # the postback a tab sends beside switching; the channel ignores it
GREEN, DARK, DARKER, INK, SOFT_INK = "#06C755", "#049A42", "#03702F", "#FFFFFF", "#E8FFF0"


@dataclass(frozen=True)
class Button:
    """One button: its content key under `line.richmenu.`, its command and its pictogram."""

    key: str
    command: str
    icon: str

    def data(self) -> str:
        return f"c=go:{self.command}"


def _stage_buttons(stage: str) -> tuple[Button, ...]:
    return (
        Button(f"continue.{stage}", "continue", "continue"),
        Button("progress", "progress", "progress"),
        Button("remind", "remind", "remind"),
        Button("idea", "idea", "idea"),
        Button("lang", "lang", "lang"),
        Button("help", "help", "help"),
    )


WORKING_GROUP_BUTTONS = (
    Button("summary", "summary", "progress"),
    Button("inactive", "inactive", "remind"),
    Button("ideas", "ideas", "idea"),
    Button("nudge", "nudge", "continue"),
    Button("export", "export", "export"),
    Button("web", "web", "web"),
)


@dataclass(frozen=True)
class Sheet:
    """One rich menu: its alias, the tab it shows lit, every tab's target, its buttons."""

    alias: str
    tab: str
    tabs: tuple[tuple[str, str], ...]  # (tab, alias of the menu it switches to)
    buttons: tuple[Button, ...]


def staff_alias(stage: str) -> str:
    return f"{ALIAS_PREFIX}{stage}"


def admin_alias(tab: str) -> str:
    return f"{ALIAS_PREFIX}admin-{tab}"


def alias_for(menu: Menu) -> str:
    """The menu a person gets: their part of the journey, with the working group's tab
    for its members (heads and members share it; a head-only command says so itself)."""
    return admin_alias(menu.stage) if menu.admin else staff_alias(menu.stage)


DEFAULT_ALIAS = staff_alias(MENU_STAGES[0])  # everyone's until the bot links another


def sheets() -> tuple[Sheet, ...]:
    """Every menu: the three parts of the journey, then the same with the working
    group's tab, and the working group's own."""
    staff_tabs = tuple((stage, staff_alias(stage)) for stage in MENU_STAGES)
    admin_tabs = (
        *((stage, admin_alias(stage)) for stage in MENU_STAGES),
        (WORKING_GROUP, admin_alias(WORKING_GROUP)),
    )
    staff = [Sheet(staff_alias(s), s, staff_tabs, _stage_buttons(s)) for s in MENU_STAGES]
    admin = [Sheet(admin_alias(s), s, admin_tabs, _stage_buttons(s)) for s in MENU_STAGES]
    group = Sheet(admin_alias(WORKING_GROUP), WORKING_GROUP, admin_tabs, WORKING_GROUP_BUTTONS)
    return (*staff, *admin, group)


# ---------------------------------------------------------------- drawing


def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    fonts = sarabun()
    layout = ImageFont.Layout.RAQM if _has_raqm() else ImageFont.Layout.BASIC
    return ImageFont.truetype(
        str(fonts.bold if bold else fonts.regular), size, layout_engine=layout
    )


def _has_raqm() -> bool:
    """Complex-script shaping (Thai marks stacked right) when Pillow was built with it."""
    from PIL import features

    return bool(features.check("raqm"))


def _icon(draw: ImageDraw.ImageDraw, kind: str, cx: int, cy: int, r: int) -> None:
    """A simple white pictogram, drawn from shapes so no emoji font is needed."""
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=INK, width=12)
    if kind == "continue":  # a play triangle
        s = r * 0.5
        draw.polygon([(cx - s * 0.7, cy - s), (cx - s * 0.7, cy + s), (cx + s, cy)], fill=INK)
    elif kind == "progress":  # three rising bars
        w = r * 0.28
        for i, h in enumerate((0.35, 0.6, 0.9)):
            x0 = cx - r * 0.55 + i * (w + r * 0.12)
            draw.rectangle((x0, cy + r * 0.45 - h * r, x0 + w, cy + r * 0.45), fill=INK)
    elif kind == "remind":  # a clock face
        draw.line((cx, cy, cx, cy - r * 0.6), fill=INK, width=12)
        angle = math.radians(40)
        draw.line(
            (cx, cy, cx + r * 0.45 * math.cos(angle), cy + r * 0.45 * math.sin(angle)),
            fill=INK,
            width=12,
        )
    elif kind == "idea":  # a speech bubble
        draw.rounded_rectangle(
            (cx - r * 0.55, cy - r * 0.45, cx + r * 0.55, cy + r * 0.25), radius=18, fill=INK
        )
        draw.polygon(
            [(cx - r * 0.25, cy + r * 0.2), (cx - r * 0.35, cy + r * 0.55), (cx, cy + r * 0.2)],
            fill=INK,
        )
    elif kind == "lang":  # a globe
        draw.ellipse(
            (cx - r * 0.55, cy - r * 0.55, cx + r * 0.55, cy + r * 0.55), outline=INK, width=9
        )
        draw.ellipse(
            (cx - r * 0.22, cy - r * 0.55, cx + r * 0.22, cy + r * 0.55), outline=INK, width=9
        )
        draw.line((cx - r * 0.55, cy, cx + r * 0.55, cy), fill=INK, width=9)
    elif kind == "export":  # a page with its corner folded
        draw.polygon(
            [
                (cx - r * 0.4, cy - r * 0.55),
                (cx + r * 0.15, cy - r * 0.55),
                (cx + r * 0.4, cy - r * 0.3),
                (cx + r * 0.4, cy + r * 0.55),
                (cx - r * 0.4, cy + r * 0.55),
            ],
            fill=INK,
        )
    elif kind == "web":  # a browser window
        draw.rectangle(
            (cx - r * 0.6, cy - r * 0.45, cx + r * 0.6, cy + r * 0.45), outline=INK, width=10
        )
        draw.rectangle((cx - r * 0.6, cy - r * 0.45, cx + r * 0.6, cy - r * 0.2), fill=INK)
    else:  # help: a question mark
        font = _font(True, int(r * 1.5))
        draw.text((cx, cy), "?", font=font, fill=INK, anchor="mm")


def _fit(text: str, font: ImageFont.FreeTypeFont, width: int) -> ImageFont.FreeTypeFont:
    """The same face, smaller if `text` would not fit in `width` pixels."""
    size = int(font.size)
    while size > 24 and font.getlength(text) > width:
        size -= 6
        font = font.font_variant(size=size)
    return font


def _centred(
    draw: ImageDraw.ImageDraw,
    centre: tuple[int, int],
    text: str,
    font: ImageFont.FreeTypeFont,
    width: int,
    fill: str,
) -> None:
    """`text` centred on `centre`, in `font` made smaller if it would be wider than `width`."""
    draw.text(centre, text, font=_fit(text, font, width), fill=fill, anchor="mm")


def _cells(count: int, total: int) -> list[tuple[int, int]]:
    """`count` cells side by side over `total` pixels: (start, width), the last takes the rest."""
    step = total // count
    return [(i * step, step if i < count - 1 else total - i * step) for i in range(count)]


@dataclass(frozen=True)
class Labels:
    """A sheet's words: each tab's label, each button's label and its other-language one."""

    tabs: dict[str, str]
    buttons: list[tuple[str, str]]
    chat_bar: str


def labels_for(sheet: Sheet, content: Content, lang: str) -> Labels:
    other = "en" if lang == "th" else "th"
    return Labels(
        tabs={tab: content.t(f"line.richmenu.tab.{tab}", lang) for tab, _ in sheet.tabs},
        buttons=[
            (content.t(f"line.richmenu.{b.key}", lang), content.t(f"line.richmenu.{b.key}", other))
            for b in sheet.buttons
        ],
        chat_bar=content.t("line.richmenu.chat_bar", lang),
    )


def draw_sheet(sheet: Sheet, labels: Labels) -> bytes:
    """The menu image: the tabs with this sheet's lit, then two rows of three buttons."""
    image = Image.new("RGB", (WIDTH, HEIGHT), GREEN)
    draw = ImageDraw.Draw(image)
    tab_font = _font(True, 84)
    for (x0, width), (tab, _) in zip(_cells(len(sheet.tabs), WIDTH), sheet.tabs, strict=True):
        lit = tab == sheet.tab
        draw.rectangle((x0, 0, x0 + width, TAB_HEIGHT), fill=GREEN if lit else DARKER)
        if lit:
            draw.rectangle((x0 + 40, TAB_HEIGHT - 22, x0 + width - 40, TAB_HEIGHT - 8), fill=INK)
        centre = (x0 + width // 2, TAB_HEIGHT // 2)
        _centred(draw, centre, labels.tabs[tab], tab_font, width - 50, INK if lit else SOFT_INK)
    body = HEIGHT - TAB_HEIGHT
    big, small = _font(True, 104), _font(False, 60)
    rows = _cells(ROWS, body)
    columns = _cells(COLUMNS, WIDTH)
    for i, (button, (label, subtitle)) in enumerate(
        zip(sheet.buttons, labels.buttons, strict=True)
    ):
        (y0, height), (x0, width) = rows[i // COLUMNS], columns[i % COLUMNS]
        top = TAB_HEIGHT + y0
        shade = GREEN if (i // COLUMNS + i % COLUMNS) % 2 == 0 else DARK
        draw.rectangle((x0, top, x0 + width, top + height), fill=shade)
        cx = x0 + width // 2
        _icon(draw, button.icon, cx, top + int(height * 0.36), 115)
        _centred(draw, (cx, top + int(height * 0.70)), label, big, width - 60, INK)
        _centred(draw, (cx, top + int(height * 0.86)), subtitle, small, width - 80, SOFT_INK)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"rich menu image is {len(data)} bytes; LINE accepts at most 1 MB")
    return data


def sheet_request(sheet: Sheet, labels: Labels, image: bytes) -> RichMenuRequest:
    """The tappable areas matching the image, named with a fingerprint of layout and image."""
    areas = []
    for (x0, width), (tab, target) in zip(_cells(len(sheet.tabs), WIDTH), sheet.tabs, strict=True):
        areas.append(
            RichMenuArea(
                bounds=RichMenuBounds(x=x0, y=0, width=width, height=TAB_HEIGHT),
                action=RichMenuSwitchAction(
                    label=truncate(labels.tabs[tab], MAX_ACTION_LABEL),
                    rich_menu_alias_id=target,
                    data=TAB_DATA + target,
                ),
            )
        )
    rows, columns = _cells(ROWS, HEIGHT - TAB_HEIGHT), _cells(COLUMNS, WIDTH)
    for i, (button, (label, _)) in enumerate(zip(sheet.buttons, labels.buttons, strict=True)):
        (y0, height), (x0, width) = rows[i // COLUMNS], columns[i % COLUMNS]
        text = truncate(label, MAX_ACTION_LABEL)
        areas.append(
            RichMenuArea(
                bounds=RichMenuBounds(x=x0, y=TAB_HEIGHT + y0, width=width, height=height),
                action=PostbackAction(label=text, data=button.data(), display_text=text),
            )
        )
    request = RichMenuRequest(
        size=RichMenuSize(width=WIDTH, height=HEIGHT),
        selected=True,
        name=NAME_PREFIX + sheet.alias,
        chat_bar_text=truncate(labels.chat_bar, MAX_CHAT_BAR_TEXT),
        areas=areas,
    )
    layout = json.dumps(request.to_dict(), sort_keys=True, ensure_ascii=False).encode()
    fingerprint = hashlib.sha256(layout + image).hexdigest()[:12]
    request.name = f"{NAME_PREFIX}{sheet.alias} {fingerprint}"
    return request


@dataclass(frozen=True)
class Drawn:
    """A sheet ready to install: its request and its image."""

    sheet: Sheet
    request: RichMenuRequest
    image: bytes


def draw_all(content: Content, lang: str) -> list[Drawn]:
    drawn = []
    for sheet in sheets():
        labels = labels_for(sheet, content, lang)
        image = draw_sheet(sheet, labels)
        drawn.append(Drawn(sheet, sheet_request(sheet, labels, image), image))
    return drawn


# ---------------------------------------------------------------- installing


@dataclass
class Installed:
    """What a run did: menus created, kept and deleted, aliases set, the default moved."""

    menus: dict[str, str] = field(default_factory=dict)  # alias -> rich menu id
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    aliases_set: list[str] = field(default_factory=list)
    default_changed: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.created or self.deleted or self.aliases_set or self.default_changed)


def _ours(name: str | None) -> bool:
    return bool(name) and (name.startswith(NAME_PREFIX) or name in OLD_NAMES)


async def install(settings: Settings, drawn: list[Drawn]) -> Installed:
    """Make the channel's menus the drawn ones, touching only what differs."""
    done = Installed()
    async with (
        AsyncApiClient(api_configuration(settings)) as client,
        AsyncApiClient(api_configuration(settings, data=True)) as data_client,
    ):
        api, blob = AsyncMessagingApi(client), AsyncMessagingApiBlob(data_client)
        listed = await api.get_rich_menu_list()
        existing = {m.name: m.rich_menu_id for m in listed.richmenus or [] if _ours(m.name)}
        for item in drawn:
            menu_id = existing.get(item.request.name)
            if menu_id is None:
                menu_id = await _create(api, blob, item)
                done.created.append(item.sheet.alias)
            done.menus[item.sheet.alias] = menu_id
        aliases = await api.get_rich_menu_alias_list()
        pointed = {a.rich_menu_alias_id: a.rich_menu_id for a in aliases.aliases or []}
        for alias, menu_id in done.menus.items():
            if alias not in pointed:
                await api.create_rich_menu_alias(
                    CreateRichMenuAliasRequest(rich_menu_alias_id=alias, rich_menu_id=menu_id)
                )
                done.aliases_set.append(alias)
            elif pointed[alias] != menu_id:
                await api.update_rich_menu_alias(
                    alias, UpdateRichMenuAliasRequest(rich_menu_id=menu_id)
                )
                done.aliases_set.append(alias)
        default = done.menus[DEFAULT_ALIAS]
        if await _default_menu(api) != default:
            await api.set_default_rich_menu(default)
            done.default_changed = True
        kept = set(done.menus.values())
        for alias in pointed:
            if alias.startswith(ALIAS_PREFIX) and alias not in done.menus:
                await api.delete_rich_menu_alias(alias)
        for name, menu_id in existing.items():
            if menu_id not in kept:
                await api.delete_rich_menu(menu_id)
                done.deleted.append(name)
                log.info("deleted the older rich menu %s (%s)", name, menu_id)
    return done


async def _create(api: AsyncMessagingApi, blob: AsyncMessagingApiBlob, item: Drawn) -> str:
    """Create one menu with its image; a menu whose image did not go up is deleted
    again, so a later run never takes a blank menu for a finished one."""
    created = await api.create_rich_menu(item.request)
    menu_id = created.rich_menu_id
    try:
        await blob.set_rich_menu_image(menu_id, item.image, _headers={"Content-Type": "image/png"})
    except BaseException:
        await api.delete_rich_menu(menu_id)
        raise
    return menu_id


async def _default_menu(api: AsyncMessagingApi) -> str | None:
    try:
        return (await api.get_default_rich_menu_id()).rich_menu_id
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
