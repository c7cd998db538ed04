"""The typed results of the use cases that return more than one thing, and the text each is remembered as
under a request id (the result id of its idempotency record): "<first>/<second>", written and read here only.

They are named tuples, so a caller may still unpack them: `item, action = cases.record_action(...)`.
"""

from __future__ import annotations

from typing import NamedTuple

from node.cases.model import Action, Item

__all__ = ["ImportResult", "RecordedAction"]


class RecordedAction(NamedTuple):
    item: Item
    action: Action

    @property
    def result_id(self) -> str:
        return _join(self.item.item_id, self.action.action_id)

    @staticmethod
    def ids_of(result_id: str) -> tuple[str, str]:
        """(item id, action id) of a remembered result."""
        return _split(result_id)


class ImportResult(NamedTuple):
    imported: int
    already_known: int

    @property
    def result_id(self) -> str:
        return _join(str(self.imported), str(self.already_known))

    @classmethod
    def of_result_id(cls, result_id: str) -> ImportResult:
        imported, already_known = _split(result_id)
        return cls(int(imported), int(already_known))


def _join(first: str, second: str) -> str:
    return f"{first}/{second}"


def _split(result_id: str) -> tuple[str, str]:
    first, _, second = result_id.partition("/")
    return first, second
