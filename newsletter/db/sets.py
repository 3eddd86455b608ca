"""``column IN (values)`` for the large id sets of the send path, cheap on both databases.

SQLAlchemy renders ``in_()`` as one bound parameter per value. PostgreSQL then
parses and plans a new statement for every set size, and a claim of 500 rows
spent more time there than in its work. ``= ANY(:array)`` is one parameter and
the same statement each time. SQLite keeps ``IN``, which it plans cheaply.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from newsletter.db.engine import is_sqlite


def one_of(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN values`` (SQLite) or ``column = ANY(:values)`` (PostgreSQL)."""
    if is_sqlite(session.get_bind()):  # type: ignore[arg-type]
        result: ColumnElement[bool] = column.in_(values)
        return result
    array = bindparam(None, list(values), type_=ARRAY(column.type))
    return column == any_(array)  # type: ignore[no-any-return]
