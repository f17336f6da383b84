"""`dlcoach line richmenu`: the menu under the LINE chat (continue, progress,
reminders, help), drawn here so an agency needs no designer and no image file.

The image is 2500x843 (LINE's large half-height size), drawn with Pillow in
Sarabun; labels come from content/ in the chosen language with the other
language underneath. Each area is a postback `c=go:<command>` with no question
number: the channel turns it into the typed command, so it works from any
point of the conversation. Older menus this command made are deleted once the
new one is the default, so repeated runs do not pile up menus on the channel.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass

from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    PostbackAction,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
)
from PIL import Image, ImageDraw, ImageFont

from bot.channels.line.api import api_configuration
from bot.channels.text import truncate
from bot.config import Settings
from content.loader import Content
from documents.fonts import sarabun

log = logging.getLogger(__name__)

MENU_NAME = "dlcoach default menu"
WIDTH, HEIGHT = 2500, 843
MAX_IMAGE_BYTES = 1024 * 1024
MAX_CHAT_BAR_TEXT = 14
MAX_ACTION_LABEL = 20
BACKGROUNDS = ("#06C755", "#05B04B", "#049A42", "#038438")
INK = "#FFFFFF"
SOFT_INK = "#E8FFF0"


@dataclass(frozen=True)
class MenuButton:
    """One quarter of the menu: what it says and which command it runs."""

    key: str  # content key suffix under line.richmenu.
    command: str  # the go:<command> postback

    def data(self) -> str:
        return f"c=go:{self.command}"


BUTTONS = (
    MenuButton("continue", "continue"),
    MenuButton("progress", "progress"),
    MenuButton("remind", "remind"),
    MenuButton("help", "help"),
)


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
    else:  # help: a question mark
        font = _font(True, int(r * 1.5))
        draw.text((cx, cy), "?", font=font, fill=INK, anchor="mm")


def draw_menu(labels: list[tuple[str, str]]) -> bytes:
    """The menu image: four columns, each an icon, a label and a smaller second-language label."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUNDS[0])
    draw = ImageDraw.Draw(image)
    column = WIDTH // len(BUTTONS)
    big, small = _font(True, 120), _font(False, 64)
    for i, (button, (label, subtitle)) in enumerate(zip(BUTTONS, labels, strict=True)):
        x0 = i * column
        draw.rectangle((x0, 0, x0 + column, HEIGHT), fill=BACKGROUNDS[i % len(BACKGROUNDS)])
        cx = x0 + column // 2
        _icon(draw, button.key, cx, 250, 130)
        draw.text((cx, 530), label, font=_fit(label, big, column - 60), fill=INK, anchor="mm")
        draw.text(
            (cx, 660), subtitle, font=_fit(subtitle, small, column - 80), fill=SOFT_INK, anchor="mm"
        )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"rich menu image is {len(data)} bytes; LINE accepts at most 1 MB")
    return data


def _fit(text: str, font: ImageFont.FreeTypeFont, width: int) -> ImageFont.FreeTypeFont:
    """The same face, smaller if `text` would not fit in `width` pixels."""
    size = int(font.size)
    while size > 24 and font.getlength(text) > width:
        size -= 6
        font = font.font_variant(size=size)
    return font


def menu_labels(content: Content, lang: str) -> list[tuple[str, str]]:
    """(label, label in the other language) for each button, from content/."""
    other = "en" if lang == "th" else "th"
    return [
        (content.t(f"line.richmenu.{b.key}", lang), content.t(f"line.richmenu.{b.key}", other))
        for b in BUTTONS
    ]


def menu_request(content: Content, lang: str) -> RichMenuRequest:
    """Four equal tappable areas matching the image columns."""
    column = WIDTH // len(BUTTONS)
    areas = []
    for i, button in enumerate(BUTTONS):
        label = truncate(content.t(f"line.richmenu.{button.key}", lang), MAX_ACTION_LABEL)
        areas.append(
            RichMenuArea(
                bounds=RichMenuBounds(x=i * column, y=0, width=column, height=HEIGHT),
                action=PostbackAction(label=label, data=button.data(), display_text=label),
            )
        )
    return RichMenuRequest(
        size=RichMenuSize(width=WIDTH, height=HEIGHT),
        selected=True,
        name=MENU_NAME,
        chat_bar_text=truncate(content.t("line.richmenu.chat_bar", lang), MAX_CHAT_BAR_TEXT),
        areas=areas,
    )


async def install_default_menu(settings: Settings, request: RichMenuRequest, image: bytes) -> str:
    """Create the menu, upload its image, make it everyone's default; returns its id."""
    async with (
        AsyncApiClient(api_configuration(settings)) as client,
        AsyncApiClient(api_configuration(settings, data=True)) as data_client,
    ):
        api, blob = AsyncMessagingApi(client), AsyncMessagingApiBlob(data_client)
        created = await api.create_rich_menu(request)
        menu_id = created.rich_menu_id
        await blob.set_rich_menu_image(menu_id, image, _headers={"Content-Type": "image/png"})
        await api.set_default_rich_menu(menu_id)
        existing = await api.get_rich_menu_list()
        for menu in existing.richmenus or []:
            if menu.name == MENU_NAME and menu.rich_menu_id != menu_id:
                await api.delete_rich_menu(menu.rich_menu_id)
                log.info("deleted the previous rich menu %s", menu.rich_menu_id)
    return menu_id
