"""The person's radar chart of self-ratings, drawn with the document renderers.

A chart is a bonus over the text that always goes with it, so a rendering
failure is logged and the conversation carries on without the picture.
"""

from __future__ import annotations

import logging

from handlers import assessment
from handlers.context import Ctx
from storage.models import Journey

log = logging.getLogger(__name__)


def person_chart(ctx: Ctx, pre: dict[str, int], post: dict[str, int] | None) -> bytes | None:
    """A PNG radar chart of `pre` (and `post`) ratings in the person's language."""
    from handlers.documents.charts import radar_chart

    skills = ctx.content.skills
    try:
        return radar_chart(
            [s.short.get(ctx.lang) for s in skills],
            [pre.get(s.id) for s in skills],
            [post.get(s.id) for s in skills] if post is not None else None,
            title=ctx.t("chart.radar_title"),
            pre_label=ctx.t("chart.pre"),
            post_label=ctx.t("chart.post"),
            size_px=800,
        )
    except Exception:  # noqa: BLE001 - the text reply already carries the result
        log.exception("could not draw the radar chart")
        return None


async def journey_chart(ctx: Ctx, journey: Journey) -> bytes | None:
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
