"""Reply, Reply all and Forward: a recipient answers with a new secure message.

The recipient permissions the sender chose are enforced here, whatever the
page showed.
"""
from ..core.addresses import split_addresses
from ..extensions import db
from ..models import AccessEvidence, EvidenceKind, MessageStatus, utcnow
from .expiry import default_expiry_date, expiry_from_date
from .sending import CONTROL_CHARACTERS, DraftError, MessageDraft, queue_message

ACTIONS = {
    "reply": ("allow_reply", "The sender does not allow replies to this message."),
    "reply-all": ("allow_reply_all", "The sender does not allow Reply all on this message."),
    "forward": ("allow_forward", "The sender does not allow this message to be forwarded."),
}


class ResponseRefused(Exception):
    """The action is not permitted (403) or the message has ended (410)."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def check_permitted(delivery, action, now=None):
    permission, refusal = ACTIONS[action]
    message = delivery.message
    status = message.status_at(now or utcnow())
    if status is not MessageStatus.SENT:
        raise ResponseRefused(f"This message has been {status.value.lower()}: it can no longer "
                              "be answered or forwarded.", 410)
    if not getattr(message, permission):
        raise ResponseRefused(refusal, 403)


def response_recipients(delivery, action, forward_to=""):
    message = delivery.message
    me = delivery.recipient.email
    if action == "reply":
        return [message.sender.email]
    if action == "reply-all":
        others = [d.recipient.email for d in message.deliveries if d.recipient.email != me]
        return [message.sender.email, *others]
    return split_addresses(forward_to)


def quoted(message):
    lines = message.body.splitlines() or [""]
    header = f"On {message.sent_at:%d %b %Y %H:%M} UTC, {message.sender.email} wrote:"
    return "\n".join([header, *(f"> {line}" for line in lines)])


def _response_expiry(original, settings, time_zone, now):
    expiry_day = default_expiry_date(settings, time_zone, now)
    default = expiry_from_date(expiry_day, time_zone) if expiry_day else None
    candidates = [t for t in (default, original.expires_at) if t is not None]
    return min(candidates) if candidates else None


def respond(recipient, delivery, action, *, settings, text, forward_to="", request_info,
            now=None):
    """Send the reply or forward as a new secure message; returns it. Raises
    ResponseRefused, or DraftError for what the recipient typed."""
    now = now or utcnow()
    if delivery.recipient_id != recipient.id:
        raise PermissionError("only the delivery's recipient can answer it")
    check_permitted(delivery, action, now)
    original = delivery.message
    prefix = "Fwd: " if action == "forward" else "Re: "
    # The recipient cannot edit the subject, so one saved before control
    # characters were refused is cleaned here rather than refused.
    original_subject = " ".join(CONTROL_CHARACTERS.sub(" ", original.subject).split())
    subject = (original_subject if original_subject.startswith(prefix)
               else prefix + original_subject)
    if action != "forward" and not text.strip():
        raise DraftError({"body": "Enter your reply."})
    note = f"{text.rstrip()}\n\n" if text.strip() else ""
    draft = MessageDraft(
        to=response_recipients(delivery, action, forward_to),
        subject=subject[:255],
        body=note + quoted(original),
        # The quoted original keeps its own limits: no later expiry, and no
        # forwarding or printing the sender did not allow.
        expires_at=_response_expiry(original, settings, recipient.time_zone, now),
        allow_reply=True,
        allow_reply_all=settings.default_allow_reply_all,
        allow_forward=settings.default_allow_forward and original.allow_forward,
        allow_print=settings.default_allow_print and original.allow_print,
        read_receipt=False,
    )
    try:
        message, _tokens = queue_message(
            recipient, draft, settings=settings, request_info=request_info, now=now,
            audit_details={"in_response_to": original.id, "action": action})
        kind = EvidenceKind.FORWARD_SENT if action == "forward" else EvidenceKind.REPLY_SENT
        db.session.add(AccessEvidence(
            delivery=delivery, user_id=recipient.id, kind=kind, occurred_at=now,
            signed_in=True, ip=request_info.ip, user_agent=request_info.user_agent,
            details={"message_id": message.id, "action": action}))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return message


