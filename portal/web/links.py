"""Notification links (`/m/<token>`, `/register/<token>`): the one guard that turns
a token naming no delivery, or someone else's, into the "link not valid" page."""
from werkzeug.exceptions import NotFound

from ..messaging.reading import delivery_for_link, reading_for_link


class LinkNotValid(NotFound):
    """Answered 404 with the "link not valid" page (web.errors), whichever page the
    link was used on: a guessed token learns nothing from the answer."""


def delivery_named_by(token):
    """The delivery a link token names, or LinkNotValid."""
    delivery = delivery_for_link(token)
    if delivery is None:
        raise LinkNotValid()
    return delivery


def reading_named_by(token):
    """The delivery a link token names, as its recipient's Reading, or LinkNotValid."""
    reading = reading_for_link(token)
    if reading is None:
        raise LinkNotValid()
    return reading
