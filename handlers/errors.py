"""Domain errors: handlers raise them, the engine turns them into polite replies."""

from __future__ import annotations


class Reprompt(Exception):
    """The answer does not fit the question: say `message_key`, then ask again."""

    def __init__(self, message_key: str, **values: object) -> None:
        super().__init__(message_key)
        self.message_key = message_key
        self.values = values
