"""One row of a bad-call battery, and the check every row gets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from tests.reliability.world import (
    World,
    assert_clear_message,
    assert_unchanged,
    make_world,
    snapshot,
)


class Bad(NamedTuple):
    """`call(world)` must raise `error` whose message starts with `where` and names `bad`."""

    id: str
    call: Callable[[World], Any]
    error: type[BaseException]
    where: str
    bad: str


def params(rows: list[Bad]) -> list[Any]:
    return [pytest.param(row, id=row.id) for row in rows]


def check_bad_call(row: Bad) -> None:
    """The row raises its exception type with a clear message, and changes nothing."""
    world = make_world()
    before = snapshot(world)
    with pytest.raises(row.error) as info:
        row.call(world)
    assert type(info.value) is row.error, f"raised {type(info.value).__name__}: {info.value}"
    assert_clear_message(info.value, row.where, row.bad)
    assert_unchanged(before, snapshot(world))
