"""Lists of ids cut into pieces small enough to bind: a query never carries more
than ID_BATCH of them, however many people an agency has (PostgreSQL's driver
refuses a statement with more than 32,767 parameters, SQLite builds often 32,766
or fewer)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

ID_BATCH = 500


def id_batches(ids: Iterable[int], size: int = ID_BATCH) -> Iterator[list[int]]:
    """The distinct `ids`, sorted, in lists of at most `size`."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]
