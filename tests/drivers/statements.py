"""What a piece of work asks of the database: every SQL statement sent through an
engine, and the bind parameters each carried (SQLAlchemy's cursor event)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class Statements:
    """The statements seen, each with the number of parameters it bound."""

    seen: list[tuple[str, int]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.seen)

    @property
    def most_parameters(self) -> int:
        return max((bound for _, bound in self.seen), default=0)

    def widest(self) -> str:
        """The statement with the most parameters (for a failing assertion's message)."""
        if not self.seen:
            return ""
        sql, bound = max(self.seen, key=lambda item: item[1])
        return f"{bound} parameters: {sql[:300]}"


def _bound(parameters: Any, executemany: bool) -> int:
    """Parameters of one execution: of one row when the driver runs it per row."""
    if executemany and parameters:
        parameters = parameters[0]
    return len(parameters) if parameters is not None else 0


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[Statements]:
    """Record every statement the engine sends while the block runs."""
    found = Statements()

    def before(_conn, _cursor, statement, parameters, _context, executemany) -> None:  # noqa: ANN001
        found.seen.append((statement, _bound(parameters, executemany)))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield found
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
