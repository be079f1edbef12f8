"""Links that lists print once per row."""
from flask import url_for

_MARKER = 987_654_321


def row_url(endpoint, key, **args):
    """A function `row id -> URL`, as `url_for(endpoint, **{key: id}, **args)` would
    build it, built once: a list prints a link per row, and url_for costs more than
    the row's other cells."""
    head, _, tail = url_for(endpoint, **{key: _MARKER}, **args).partition(str(_MARKER))
    return lambda row_id: f"{head}{int(row_id)}{tail}"
