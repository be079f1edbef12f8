"""SQL helpers shared by set-based use cases."""
import json

from sqlalchemy import Integer, cast, func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB

from ..extensions import db

SMALL_LIST = 1000


def in_id_list(column, ids):
    """`column IN (ids)` with the ids sent as one JSON parameter.

    A bulk recall names up to a hundred thousand messages: one bound value
    instead of one per id keeps statements fast and under SQLite's limit on
    bound parameters.
    """
    ids = [int(i) for i in ids]
    if len(ids) <= SMALL_LIST:
        # A short literal list: the planner sees the values and their number.
        return column.in_(ids)
    if db.session.get_bind().dialect.name == "postgresql":
        values = func.jsonb_array_elements_text(literal(ids, JSONB)).table_valued("value")
    else:
        values = func.json_each(json.dumps(ids)).table_valued("value")
    return column.in_(select(cast(values.c.value, Integer)))


def lock_rows(model, ids):
    """Lock these rows for the rest of the transaction.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite has no row locks, so a no-op
    UPDATE takes its database write lock instead: either way a recall and a
    view of the same message run one after the other, never interleaved.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(model.id).where(in_id_list(model.id, ids))
                           .order_by(model.id).with_for_update())
    else:
        db.session.execute(update(model).where(in_id_list(model.id, ids))
                           .values(id=model.id).execution_options(synchronize_session=False))


def contains_text(column, text_):
    """Case-insensitive partial match, with `%`, `_` and `\\` taken literally.

    PostgreSQL: ILIKE, which the trigram indexes serve. SQLite: LIKE, which is
    already case-insensitive there (for ASCII, as SQLite's lower() is too) and,
    unlike lower(column) LIKE, can be checked straight from a covering index.
    """
    escaped = text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    if db.session.get_bind().dialect.name == "postgresql":
        return column.ilike(pattern, escape="\\")
    return column.like(pattern, escape="\\")
