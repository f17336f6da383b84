"""The person's radar chart of self-ratings, described for the document renderers.

The chart is drawn at delivery (off the turn); it is a bonus over the text
that always goes with it, so a drawing failure costs only the picture.
"""

from __future__ import annotations

from handlers import assessment
from handlers.context import Ctx
from handlers.messages import Render
from storage.models import Journey


def person_chart(ctx: Ctx, pre: dict[str, int], post: dict[str, int] | None) -> Render:
    """A radar chart of `pre` (and `post`) ratings in the person's language."""
    skills = ctx.content.skills
    return Render(
        "radar",
        {
            "labels": [s.short.get(ctx.lang) for s in skills],
            "pre": [pre.get(s.id) for s in skills],
            "post": [post.get(s.id) for s in skills] if post is not None else None,
            "title": ctx.t("chart.radar_title"),
            "pre_label": ctx.t("chart.pre"),
            "post_label": ctx.t("chart.post"),
            "size_px": 800,
        },
    )


async def journey_chart(ctx: Ctx, journey: Journey) -> Render | None:
    """The radar chart of a round: before, and after once re-rated; None before any rating."""
    pre = await assessment.ratings(
        ctx.session, await assessment.get_assessment(ctx.session, journey, "pre")
    )
    if not pre:
        return None
    post = await assessment.ratings(
        ctx.session, await assessment.get_assessment(ctx.session, journey, "post")
    )
    return person_chart(ctx, pre, post or None)
