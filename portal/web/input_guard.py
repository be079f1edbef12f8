"""Input no form of this portal can legitimately carry is refused at the door."""
from flask import abort, request


def refuse_nul_characters():
    """A NUL character is never typed into a form; PostgreSQL cannot store one in text.

    Refusing it here, for every field of every request, answers 400 instead of
    letting it reach a query deep inside some use case. A form field without a
    name is refused too: werkzeug reads a multipart part whose name it cannot
    unquote (`name="\\"`) as a field named None, which no form has.
    """
    # request.form is empty unless the body is a form: don't pay for reading it then.
    carries_form = request.mimetype in ("application/x-www-form-urlencoded",
                                        "multipart/form-data")
    for values in (request.args, request.form) if carries_form else (request.args,):
        for key, value in values.items(multi=True):
            if not isinstance(key, str) or "\x00" in key or "\x00" in value:
                abort(400)
