"""Where things are: the checkout, and the fixtures that tests share."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout
FIXTURES = ROOT / "tests" / "fixtures"
LINE_SAMPLE_EVENTS = FIXTURES / "line-webhook-events.json"
