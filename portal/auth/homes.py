"""Where each audience lands after signing in."""
from flask import url_for

from ..models import Audience

HOME_ENDPOINTS = {
    Audience.ADMIN: "admin.secure_messaging",
    Audience.SENDER: "sender.sent_messages",
    Audience.RECIPIENT: "recipient.inbox",
}


def home_url(user):
    return url_for(HOME_ENDPOINTS[user.audience])
