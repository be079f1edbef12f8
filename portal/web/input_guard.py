"""Input no form of this portal can legitimately carry is refused at the door."""
from flask import abort, request


def refuse_nul_characters():
    """A NUL character is never typed into a form; PostgreSQL cannot store one in text.

    Refusing it here, for every field of every request, answers 400 instead of
    letting it reach a query deep inside some use case.
    """
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400)
