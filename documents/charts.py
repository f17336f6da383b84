"""PNG charts of self-ratings and agency summaries, in Sarabun.

Figures are built with `matplotlib.figure.Figure` and the Agg canvas directly:
pyplot and its global figure registry are never touched, every text gets its
font explicitly (no rcParams changes), and rendering is serialised by a lock so
the functions may be called from worker threads. Thai is shaped by matplotlib's
text layout (libraqm), so tone marks and vowels sit where they should.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from PIL import Image

from documents.fonts import MATPLOTLIB_LOCK, mpl_font

DPI = 100
PRE_COLOUR = "#8a9bb0"
POST_COLOUR = "#1f6f8b"
GRID_COLOUR = "#c9d3dd"
TEXT_COLOUR = "#23313f"
SERIES_COLOURS = ("#1f6f8b", "#e39b2d", "#6a9955", "#b5495b", "#7b6bb0", "#8a9bb0")


def _new_figure(width_px: int, height_px: int) -> Figure:
    if width_px < 100 or height_px < 100:
        raise ValueError("a chart must be at least 100 × 100 pixels")
    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _number(value: float) -> str:
    """1 -> "1", 3.25 -> "3.25", 2.5 -> "2.5", 10/3 -> "3.33"."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _values(
    name: str, values: Sequence[float | None] | None, count: int, top: float
) -> list[float]:
    if values is None:
        return []
    if len(values) != count:
        raise ValueError(f"{name} has {len(values)} values for {count} labels")
    return [min(max(float(v or 0), 0.0), top) for v in values]


def _fit_inside(fig: Figure, ax: Axes, names: list[Text], *, min_size: float) -> None:
    """Shrink the polar axes (and, down to `min_size`, the names) until every name fits
    between the figure's sides and between the legend (bottom) and the title (top)."""
    width, height = fig.bbox.width, fig.bbox.height
    margin = 0.02 * width
    bottom, top = 0.09 * height, 0.89 * height
    for _ in range(12):
        renderer = fig.canvas.get_renderer()
        boxes = [name.get_window_extent(renderer) for name in names]
        overflow = max(
            max(margin - b.x0, b.x1 - (width - margin), bottom - b.y0, b.y1 - top, 0) for b in boxes
        )
        if overflow <= 0:
            return
        for name in names:
            size = name.get_fontsize()
            if size > min_size:
                name.set_fontsize(max(size * 0.94, min_size))
        x0, y0, w, h = ax.get_position().bounds
        shrink = max(0.8, 1 - 2 * overflow / (w * width))
        ax.set_position(
            (x0 + w * (1 - shrink) / 2, y0 + h * (1 - shrink) / 2, w * shrink, h * shrink)
        )


@dataclass(frozen=True)
class _RadarFrame:
    """Everything of a radar chart but the person's polygons, laid out and drawn once:
    the circle, its rings and levels, the skill names, the title and the legend."""

    fig: Figure
    ax: Axes
    background: Any  # the drawn frame, as the Agg canvas copies it
    angles: tuple[float, ...]
    styles: tuple[tuple[str, str], ...]  # (colour, line style) per series
    scale: float
    ticks: tuple[Any, ...]  # the rings' and spokes' ticks, placed when the frame was drawn


@lru_cache(maxsize=4)  # Thai and English, with and without "after": about 6 MB each
def _radar_frame(
    labels: tuple[str, ...],
    title: str,
    legend_names: tuple[str, ...],
    max_level: int,
    size_px: int,
) -> _RadarFrame:
    """Lay out and draw the frame for these labels (call under MATPLOTLIB_LOCK).

    Fitting the names and drawing the frame is two thirds of a chart's time and
    the same for everyone who answers in one language, so it is done once."""
    count = len(labels)
    scale = size_px / 800
    angles = tuple(2 * math.pi * i / count for i in range(count))
    fig = _new_figure(size_px, size_px)
    ax = fig.add_axes((0.2, 0.17, 0.6, 0.6), projection="polar")
    ax.set_theta_offset(math.pi / 2)
    ax.set_theta_direction(-1)
    ax.set_ylim(0, max_level)
    ax.set_facecolor("#f7f9fb")
    ax.spines["polar"].set_color(GRID_COLOUR)
    ax.grid(color=GRID_COLOUR, linewidth=max(0.8 * scale, 0.5))

    ax.set_xticks(angles)
    ax.set_xticklabels([""] * count)
    ax.set_yticks(range(1, max_level + 1))
    ax.set_yticklabels(
        [str(level) for level in range(1, max_level + 1)],
        fontproperties=mpl_font(size=13 * scale),
        color="#6b7b8c",
    )
    ax.set_rlabel_position(180 / count)

    # Skill names outside the circle, anchored away from it so long names never cross it.
    names = []
    for angle, label in zip(angles, labels, strict=True):
        screen = math.pi / 2 - angle  # where the spoke points on screen
        dx, dy = math.cos(screen), math.sin(screen)
        ha = "center" if abs(dx) < 0.2 else ("left" if dx > 0 else "right")
        va = "center" if abs(dy) < 0.2 else ("bottom" if dy > 0 else "top")
        names.append(
            ax.text(
                angle,
                max_level * 1.1,
                label,
                ha=ha,
                va=va,
                fontproperties=mpl_font(size=17 * scale),
                color=TEXT_COLOUR,
                parse_math=False,
            )
        )
    _fit_inside(fig, ax, names, min_size=11 * scale)

    fig.text(
        0.5,
        0.955,
        title,
        ha="center",
        va="top",
        fontproperties=mpl_font(bold=True, size=26 * scale),
        color=TEXT_COLOUR,
        parse_math=False,
    )
    styles = ((PRE_COLOUR, "--"), (POST_COLOUR, "-"))[: len(legend_names)]
    keys = [Line2D([], [], **_line_style(colour, style, scale)) for colour, style in styles]
    legend = fig.legend(
        keys,
        list(legend_names),
        loc="lower center",
        bbox_to_anchor=(0.5, 0.015),
        ncol=len(keys),
        frameon=False,
        prop=mpl_font(size=17 * scale),
    )
    for text in legend.get_texts():
        text.set_parse_math(False)
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    ticks = (*ax.xaxis.get_major_ticks(), *ax.yaxis.get_major_ticks())
    return _RadarFrame(fig, ax, background, angles, styles, scale, ticks)


def _line_style(colour: str, style: str, scale: float) -> dict[str, Any]:
    """How one series' line looks, in the chart and in the legend alike."""
    return {
        "color": colour,
        "linewidth": 2.6 * scale,
        "linestyle": style,
        "marker": "o",
        "markersize": 6 * scale,
    }


def radar_chart(
    labels: list[str],
    pre: list[float | None],
    post: list[float | None] | None,
    *,
    title: str,
    pre_label: str,
    post_label: str,
    max_level: int = 5,
    size_px: int = 800,
) -> bytes:
    """A square PNG radar chart of self-ratings per skill, `size_px` × `size_px`.

    `pre` is drawn as one polygon and `post`, when given, as a second one, with
    a legend naming them `pre_label` and `post_label`. None counts as 0; values
    are clipped to 0..`max_level`.

    The frame comes from `_radar_frame`; the polygons are drawn onto a copy of
    it: the fills, the rings and spokes again over them (as a whole drawing
    puts the grid above the fills), then the lines.
    """
    if not labels:
        raise ValueError("a radar chart needs at least one label")
    if max_level < 1:
        raise ValueError("max_level must be at least 1")
    count = len(labels)
    pre_values = _values("pre", pre, count, max_level)
    post_values = _values("post", post, count, max_level)
    series = [pre_values, post_values] if post_values else [pre_values]
    names = (pre_label, post_label)[: len(series)]

    with MATPLOTLIB_LOCK:
        frame = _radar_frame(tuple(labels), title, names, max_level, size_px)
        ax, canvas = frame.ax, frame.fig.canvas
        canvas.restore_region(frame.background)
        closed = [*frame.angles, frame.angles[0]]
        rings = [[*values, values[0]] for values in series]
        drawn = []
        for ring, (colour, _) in zip(rings, frame.styles, strict=True):
            drawn += ax.fill(closed, ring, color=colour, alpha=0.22)
        for artist in drawn:
            ax.draw_artist(artist)
        # The ticks as the frame placed them: drawing the whole axes again would
        # place them and measure their labels again, for the same picture.
        for artist in (*frame.ticks, ax.spines["polar"]):
            ax.draw_artist(artist)
        lines = []
        for ring, (colour, style) in zip(rings, frame.styles, strict=True):
            lines += ax.plot(closed, ring, **_line_style(colour, style, frame.scale))
        for artist in lines:
            ax.draw_artist(artist)
        picture = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
        picture = picture.convert("RGB")  # a copy: the canvas is the next chart's
        for artist in drawn + lines:
            artist.remove()
    buf = io.BytesIO()
    # Run-length matching suits flat colours: about 5 % more bytes than zlib's
    # default strategy, in two thirds of the time (encoding was most of a chart).
    picture.save(buf, format="png", compress_type=zlib.Z_RLE)
    return buf.getvalue()


def bar_chart(
    categories: list[str],
    series: dict[str, list[float]],
    *,
    title: str,
    y_label: str,
    size_px: tuple[int, int] = (1000, 600),
) -> bytes:
    """A PNG of grouped bars, `size_px` = (width, height) pixels.

    One group per category and one bar per series in each group (e.g. people
    per step, or the average pre and post rating per skill), each bar labelled
    with its value. A legend names the series when there is more than one.
    """
    if not categories:
        raise ValueError("a bar chart needs at least one category")
    if not series:
        raise ValueError("a bar chart needs at least one series")
    for name, values in series.items():
        if len(values) != len(categories):
            raise ValueError(
                f"series {name!r} has {len(values)} values for {len(categories)} categories"
            )
    width_px, height_px = size_px
    scale = min(width_px / 1000, height_px / 600)
    count = len(series)
    group_width = 0.8
    bar_width = group_width / count
    top = max((max(values) for values in series.values()), default=0)

    # Long labels are slanted; Thai has no spaces, so labels are never broken into lines.
    longest = max(len(c) for c in categories)
    slanted = longest * len(categories) > 90

    with MATPLOTLIB_LOCK:
        fig = _new_figure(width_px, height_px)
        ax = fig.add_subplot()
        for index, (name, values) in enumerate(series.items()):
            offsets = [i - group_width / 2 + bar_width * (index + 0.5) for i in range(len(values))]
            bars = ax.bar(
                offsets,
                values,
                width=bar_width * 0.92,
                color=SERIES_COLOURS[index % len(SERIES_COLOURS)],
                label=name,
            )
            for text in ax.bar_label(
                bars,
                labels=[_number(v) for v in values],
                padding=3 * scale,
                fontproperties=mpl_font(size=13 * scale),
                color=TEXT_COLOUR,
            ):
                text.set_parse_math(False)

        ax.set_xticks(range(len(categories)))
        ax.set_xticklabels(
            categories,
            fontproperties=mpl_font(size=15 * scale),
            rotation=30 if slanted else 0,
            ha="right" if slanted else "center",
            rotation_mode="anchor",
            color=TEXT_COLOUR,
            parse_math=False,
        )
        ax.set_ylim(0, top * 1.15 if top > 0 else 1)
        for label in ax.get_yticklabels():
            label.set_fontproperties(mpl_font(size=13 * scale))
        ax.set_ylabel(
            y_label, fontproperties=mpl_font(size=16 * scale), color=TEXT_COLOUR, parse_math=False
        )
        fig.suptitle(
            title,
            fontproperties=mpl_font(bold=True, size=22 * scale),
            color=TEXT_COLOUR,
            parse_math=False,
        )
        ax.yaxis.grid(True, color=GRID_COLOUR, linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if count > 1:
            legend = ax.legend(
                frameon=False,
                prop=mpl_font(size=15 * scale),
                loc="lower center",
                bbox_to_anchor=(0.5, 1.0),
                ncol=count,
            )
            for text in legend.get_texts():
                text.set_parse_math(False)
        fig.tight_layout()
        return _png(fig)
