"""The floor: the portal's signed-in pages written by hand, as the reference for their cost.

Bare Flask routes over plain SQL (benchmarks/floor/store.py), doing what the
portal's pages do and nothing more: the same cookie session resumed from the
portal's `user_sessions` row, a CSRF token, the portal's security headers, one
JSON request-log line, Jinja templates of the same size, the same queries, and
the same access evidence written in one transaction per request.

It reads and writes the portal's database as the portal's migrations create it,
and reads the portal's session cookie (same SECRET_KEY and cookie name), so a
person signed in to the portal can use the floor's pages, and both run in one
process on one database (benchmarks/request_cost.py) or side by side under
gunicorn (benchmarks/throughput.py). tests/http/test_request_cost_floor.py keeps
its pages showing the portal's rows, body and evidence.

Covered: the signed-in paths of Inbox, reading pane, message viewer (`/m/<token>`),
Sent, the admin search's default (last 48 hours) and Message Details. Not
covered (answered 501 so that nobody measures them by mistake): other search
criteria, and the first view of a message that asks for a read receipt (the
receipt email is the outbox's work, not a page's). A notification link opened
while signed out is sent to the portal's sign-in without evidence.
"""
import hashlib
import ipaddress
import json
import logging
import os
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, abort, g, redirect, render_template, request, session
from flask.logging import wsgi_errors_stream
from itsdangerous import URLSafeTimedSerializer

from .store import Store

HERE = Path(__file__).resolve().parent
log = logging.getLogger("floor.requests")

# The portal's own values, repeated: the floor sends the same headers (see
# portal/web/security_headers.py; the floor's test compares them).
HTMX_URL = "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js"
HTMX_INTEGRITY = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", f"script-src 'self' {HTMX_URL}", "style-src 'self'",
    "img-src 'self' data:", "font-src 'self'", "connect-src 'self'", "form-action 'self'",
    "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'",
])
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
SEARCH_WINDOW = timedelta(hours=48)
ROLE_RANK = {"read_only": 1, "basic": 2, "full": 3}
ROLE_LABEL = {"read_only": "Read Only Administrator", "basic": "Basic Administrator",
              "full": "Full Administrator"}
CHANNEL_LABELS = {"inbox": "Inbox", "direct_link": "Direct link"}
CANCEL_REASONS = {"recalled": "the secure message was recalled",
                  "expired": "the secure message had expired",
                  "content failed authentication":
                      "its content failed authentication (altered in the database)"}
PERMISSIONS = (("allow_reply", "Allow reply"), ("allow_reply_all", "Allow reply all"),
               ("allow_forward", "Allow forward"), ("allow_print", "Allow print"),
               ("read_receipt", "Read receipt"))
PREFETCH = {"purpose": "prefetch", "sec-purpose": "prefetch", "x-moz": "prefetch"}
MAILBOX_HOLDERS, SENDERS, ADMINS = {"sender", "recipient"}, {"sender"}, {"admin"}


class NotInTheFloor(Exception):
    """A request the floor does not implement (it is not measured)."""


def create_floor_app(settings):
    """The floor, on the portal's settings (a mapping such as the portal's app.config)."""
    from portal.models.body_encryption import KeyRing  # the portal's at-rest format

    app = Flask(__name__, template_folder=str(HERE / "templates"), static_folder=None)
    for name in ("SECRET_KEY", "SESSION_COOKIE_NAME", "SESSION_COOKIE_SECURE",
                 "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE"):
        if name in settings:
            app.config[name] = settings[name]
    config = {name: settings[name] for name in (
        "PAGE_SIZE", "HSTS_SECONDS", "READ_STATUS_MODE", "SECURE_MESSAGING_EDITION",
        "SESSION_IDLE_MINUTES", "SESSION_IDLE_MINUTES_ADMIN", "SESSION_LIFETIME_HOURS",
        "SESSION_LIFETIME_HOURS_ADMIN") if name in settings}
    store = Store(settings["SQLALCHEMY_DATABASE_URI"])
    ring = KeyRing.from_config(settings)
    csrf_signer = URLSafeTimedSerializer(settings["SECRET_KEY"], salt="wtf-csrf-token")
    app.extensions["floor_store"] = store
    _give_the_log_a_handler()

    def csrf_token():
        # Flask-WTF's token: a random value in the session, signed; the portal accepts it.
        if "csrf" not in g:
            if "csrf_token" not in session:
                session["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()
            g.csrf = csrf_signer.dumps(session["csrf_token"])
        return g.csrf

    app.jinja_env.globals.update(csrf_token=csrf_token, HTMX_URL=HTMX_URL,
                                 HTMX_INTEGRITY=HTMX_INTEGRITY, PERMISSIONS=PERMISSIONS,
                                 CHANNEL_LABELS=CHANNEL_LABELS)
    app.jinja_env.filters.update(datetime=format_datetime, iso_utc=iso_utc)

    # -- plumbing: request id, session check and access; headers and log line ----------

    @app.before_request
    def resume():
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.user = resume_session(store, config, session.get("_user_id"), session.get("sid"))
        g.zone = zone_for(g.user["time_zone"] if g.user else None)
        allowed = ACCESS.get(request.endpoint)
        if allowed is None:
            return None
        if g.user is None:
            if request.headers.get("HX-Request") == "true":
                return "", 401, {"HX-Redirect": "/sign-in"}
            return redirect(f"/sign-in?next={request.path}")
        if g.user["audience"] not in allowed:
            abort(403)
        return None

    @app.after_request
    def finish(response):
        headers = response.headers
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if config.get("HSTS_SECONDS"):
            headers["Strict-Transport-Security"] = (
                f"max-age={config['HSTS_SECONDS']}; includeSubDomains")
        headers["Cache-Control"] = "no-store"
        headers["X-Request-ID"] = g.request_id
        started = g.get("started")
        user = g.get("user")
        log.info(json.dumps({
            "request_id": g.request_id, "method": request.method,
            "route": request.url_rule.rule if request.url_rule is not None else None,
            "endpoint": request.endpoint, "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            "user_id": user["id"] if user else None,
        }))
        return response

    @app.teardown_request
    def end(_error):
        store.end_request()

    @app.errorhandler(NotInTheFloor)
    def not_in_the_floor(error):
        return f"Not in the floor: {error}", 501

    # -- pages ----------------------------------------------------------------------

    page_size = config.get("PAGE_SIZE", 25)

    def page_number():
        value = request.args.get("page", 1, type=int) or 1
        return min(max(value, 1), 100_000)

    def account_settings():
        row = store.one("SELECT edition, read_status_mode FROM account_settings WHERE id = 1")
        if row is None:
            return config.get("SECURE_MESSAGING_EDITION", "Full"), config.get(
                "READ_STATUS_MODE", "content_viewed")
        return row["edition"], row["read_status_mode"]

    def inbox_context(page, now):
        uid = g.user["id"]
        total = store.scalar("SELECT count(*) FROM deliveries WHERE recipient_id = :uid",
                             uid=uid)
        rows = store.all(INBOX_ROWS, uid=uid, limit=page_size,
                         offset=(page - 1) * page_size)
        return {"rows": [inbox_row(r, now) for r in rows], "unread": unread_count(uid, now),
                "pager": pager(page, total, page_size), "page": page}

    def unread_count(uid, now):
        return store.scalar(UNREAD, uid=uid, now=store.at(now))

    def inbox_row(r, now):
        status = status_at(r["recalled_at"], r["expires_at"], now)
        return {"id": r["id"], "sender": r["sender_email"], "subject": r["subject"],
                "sent_at": store.when(r["sent_at"]), "status": status,
                "unread": r["recipient_status"] == "Sent" and status == "Sent",
                "ended": ended_notice(store, r, status)}

    @app.get("/inbox")
    def inbox():
        now = datetime.now(UTC)
        return render_template("inbox.html", selected=None, **inbox_context(page_number(), now))

    @app.get("/inbox/<int:delivery_id>")
    def inbox_message(delivery_id):
        now = datetime.now(UTC)
        row = store.one(DELIVERY_BY_ID, id=delivery_id, uid=g.user["id"]) or abort(404)
        _edition, mode = account_settings()
        view = open_message(row, "inbox", mode, now)
        fragment = (request.headers.get("HX-Request") == "true"
                    and request.headers.get("HX-Target") == "reading-pane")
        if fragment:
            unread = unread_count(g.user["id"], now)
            selected_row = inbox_row({**row, **view["status_row"], "id": row["id"],
                                      "recipient_status": view["recipient_status"]}, now)
            response = app.make_response(render_template(
                "pane.html", view=view, row=selected_row, unread=unread, page=page_number()))
        else:
            context = inbox_context(page_number(), now)
            response = app.make_response(render_template("inbox.html", selected=view,
                                                         **context))
        response.vary.add("HX-Request")
        return response

    @app.route("/m/<token>", methods=["GET", "HEAD"])
    def open_link(token):
        if g.user is None:
            return redirect(f"/sign-in?next={request.path}")
        now = datetime.now(UTC)
        row = None
        if len(token) <= 128:
            row = store.one(DELIVERY_BY_LINK, hash=hashlib.sha256(token.encode()).hexdigest())
        if row is None:
            return render_template("link_not_valid.html"), 404
        prefetch = request.method == "HEAD" or any(
            request.headers.get(name, "").lower().startswith(value)
            for name, value in PREFETCH.items())
        info = request_info()
        if row["recipient_id"] != g.user["id"]:
            insert_evidence(row["id"], None, "link_opened", now, None, False, info,
                            details='{"signed_in_as_another_account": true}')
            store.commit()
            return render_template("link_not_valid.html"), 404
        _edition, mode = account_settings()
        view = open_message(row, "direct_link", mode, now, link_opened=(info, prefetch))
        if prefetch:
            return "", 204
        return render_template("viewer.html", view=view), 200 if view["shown"] else 410

    def open_message(row, channel, mode, now, link_opened=None):
        """Lock the message, check its status, record what happened: one commit."""
        uid = g.user["id"]
        info = link_opened[0] if link_opened else request_info()
        status_row = store.one(LOCK_SQLITE if store.dialect == "sqlite" else LOCK_POSTGRES,
                               id=row["message_id"])
        status = status_at(status_row["recalled_at"], status_row["expires_at"], now)
        if link_opened:
            insert_evidence(row["id"], uid, "link_opened", now, None, True, info,
                            scanner=link_opened[1])
            if link_opened[1]:
                store.commit()
                return None
        recipient_status = row["recipient_status"]
        view = {"subject": row["subject"], "status": status, "shown": status == "Sent",
                "status_row": dict(status_row), "recipient_status": recipient_status,
                "delivery_id": row["id"]}
        if status != "Sent":
            insert_evidence(row["id"], uid, "access_refused", now, channel, True, info,
                            details=json.dumps({"reason": status.lower()}))
            store.commit()
            view["ended"] = ended_notice(store, status_row, status)
            return view
        if row["read_receipt"] and row["read_receipt_sent_at"] is None:
            raise NotInTheFloor("the first view of a message that asks for a read receipt")
        insert_evidence(row["id"], uid, "message_viewed", now, channel, True, info)
        if recipient_status == "Sent" and (mode != "inbox_selection" or channel == "inbox"):
            store.execute("UPDATE deliveries SET recipient_status = 'Read', first_read_at = :now,"
                          " first_read_channel = :channel WHERE id = :id",
                          {"now": store.at(now), "channel": channel, "id": row["id"]})
            view["recipient_status"] = "Read"
        store.commit()
        people = store.all(PEOPLE_OF_MESSAGE, id=row["message_id"])
        view.update(
            body=ring.decrypt(row["body_key_id"], row["body"],
                              where=f"the body of secure message {row['message_id']}"),
            sender=row["sender_email"], sent_at=store.when(row["sent_at"]),
            expires_at=store.when(row["expires_at"]),
            to=", ".join(p["email"] for p in people if p["kind"] == "to"),
            cc=", ".join(p["email"] for p in people if p["kind"] == "cc"),
            actions=[(path, label) for path, label, name in (
                ("reply", "Reply", "allow_reply"), ("reply-all", "Reply all", "allow_reply_all"),
                ("forward", "Forward", "allow_forward")) if row[name]],
            allow_print=row["allow_print"])
        return view

    def insert_evidence(delivery_id, user_id, kind, now, channel, signed_in, info,
                        scanner=False, details="{}"):
        store.execute(INSERT_EVIDENCE, {
            "delivery_id": delivery_id, "user_id": user_id, "kind": kind,
            "occurred_at": store.at(now), "channel": channel, "signed_in": signed_in,
            "ip": info[0], "user_agent": info[1], "scanner": scanner, "details": details})

    @app.get("/sent")
    def sent_messages():
        now = datetime.now(UTC)
        uid, page = g.user["id"], page_number()
        total = store.scalar("SELECT count(*) FROM secure_messages WHERE sender_id = :uid",
                             uid=uid)
        rows = store.all(SENT_ROWS, uid=uid, limit=page_size, offset=(page - 1) * page_size)
        to = to_summaries(store, [r["id"] for r in rows])
        messages = [{"id": r["id"], "subject": r["subject"], "to": to[r["id"]],
                     "status": status_at(r["recalled_at"], r["expires_at"], now),
                     "sent_at": store.when(r["sent_at"]),
                     "expires_at": store.when(r["expires_at"])} for r in rows]
        return render_template("sent.html", messages=messages, pager=pager(page, total, page_size))

    def search(now):
        if any(key not in ("page", "range") for key in request.args) or (
                request.args.get("range", "48h") != "48h"):
            raise NotInTheFloor("search criteria other than the last 48 hours")
        since = store.at(now - SEARCH_WINDOW)
        total = store.scalar("SELECT count(*) FROM secure_messages WHERE sent_at >= :since",
                             since=since)
        page = min(page_number(), max((total + page_size - 1) // page_size, 1))
        rows = store.all(SEARCH_ROWS, since=since, limit=page_size,
                         offset=(page - 1) * page_size)
        to = to_summaries(store, [r["id"] for r in rows])
        messages = [{"id": r["id"], "sender": r["sender_email"], "subject": r["subject"],
                     "to": to[r["id"]], "status": status_at(r["recalled_at"], r["expires_at"], now),
                     "sent_at": store.when(r["sent_at"]),
                     "expires_at": store.when(r["expires_at"])} for r in rows]
        can_recall = note = False
        if ROLE_RANK[g.user["admin_role"]] >= ROLE_RANK["basic"]:
            edition, _mode = account_settings()
            can_recall = edition != "Lite"
            note = None if can_recall else (
                "Admin recall is not available in the Lite edition. "
                "Senders can still recall their own messages from their Sent page.")
        return {"messages": messages, "pager": pager(page, total, page_size), "can_recall": can_recall,
                "recall_note": note}

    @app.get("/admin/secure-messaging")
    def secure_messaging():
        now = datetime.now(UTC)
        context = search(now)
        if (request.headers.get("HX-Request") == "true"
                and request.headers.get("HX-Target") == "search-results"):
            response = app.make_response(render_template("results.html", **context))
        else:
            response = app.make_response(render_template("admin.html", details=None, **context))
        response.vary.add("HX-Request")
        return response

    @app.get("/admin/secure-messaging/messages/<int:message_id>")
    def message_details_panel(message_id):
        now = datetime.now(UTC)
        details = message_details(store, message_id, now) or abort(404)
        tab = "status" if request.args.get("tab") == "status" else "message"
        if (request.headers.get("HX-Request") == "true"
                and request.headers.get("HX-Target") == "details-panel"):
            response = app.make_response(render_template("details.html", details=details,
                                                         tab=tab))
        else:
            response = app.make_response(render_template(
                "admin.html", details=details, tab=tab, **search(now)))
        response.vary.add("HX-Request")
        return response

    ACCESS = {"inbox": MAILBOX_HOLDERS, "inbox_message": MAILBOX_HOLDERS,
              "sent_messages": SENDERS, "secure_messaging": ADMINS,
              "message_details_panel": ADMINS}
    return app


# -- the session check ------------------------------------------------------------------

SESSION = """
SELECT s.created_at, s.last_seen_at, u.id, u.email, u.is_internal, u.admin_role, u.time_zone
FROM user_sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = :hash AND s.user_id = :uid AND s.ended_at IS NULL"""


def resume_session(store, config, user_id, token):
    """The person of a live session (as portal/identity/sessions.py decides), or None."""
    if not token or not str(user_id).isdigit():
        return None
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    row = store.one(SESSION, hash=token_hash, uid=int(user_id))
    if row is None:
        return None
    admin = row["admin_role"] is not None
    audience = "admin" if admin else "sender" if row["is_internal"] else "recipient"
    now = datetime.now(UTC)
    last_seen, created = store.when(row["last_seen_at"]), store.when(row["created_at"])
    idle = timedelta(minutes=config.get("SESSION_IDLE_MINUTES_ADMIN" if admin
                                        else "SESSION_IDLE_MINUTES", 30))
    lifetime = timedelta(hours=config.get("SESSION_LIFETIME_HOURS_ADMIN" if admin
                                          else "SESSION_LIFETIME_HOURS", 12))
    ended = ("idle_timeout" if now - last_seen > idle
             else "lifetime_ended" if now - created > lifetime else None)
    if ended:
        store.execute("UPDATE user_sessions SET ended_at = :now, end_reason = :reason "
                      "WHERE token_hash = :hash", {"now": store.at(now), "reason": ended,
                                                   "hash": token_hash})
        store.commit()
        return None
    if now - last_seen >= LAST_SEEN_RESOLUTION:
        store.execute("UPDATE user_sessions SET last_seen_at = :now WHERE token_hash = :hash",
                      {"now": store.at(now), "hash": token_hash})
        store.commit()
    return {"id": row["id"], "email": row["email"], "admin_role": row["admin_role"],
            "role_label": ROLE_LABEL.get(row["admin_role"]), "audience": audience,
            "time_zone": row["time_zone"]}


def request_info():
    """(ip, user agent) as evidence records them."""
    try:
        ip = str(ipaddress.ip_address(request.remote_addr or ""))
    except ValueError:
        ip = None
    agent = request.headers.get("User-Agent", "").replace("\x00", "\ufffd")[:512] or None
    return ip, agent


# -- queries ------------------------------------------------------------------------

# As the portal: the page's deliveries picked from the recipient's index entries first.
INBOX_ROWS = """
SELECT d.id, d.recipient_status, m.subject, m.sent_at, m.expires_at, m.recalled_at,
       m.recall_source, m.recall_reason, s.email AS sender_email
FROM deliveries d JOIN secure_messages m ON m.id = d.message_id
JOIN users s ON s.id = m.sender_id
WHERE d.id IN (SELECT p.id FROM deliveries p JOIN secure_messages pm ON pm.id = p.message_id
               WHERE p.recipient_id = :uid ORDER BY pm.sent_at DESC, p.id DESC
               LIMIT :limit OFFSET :offset)
ORDER BY m.sent_at DESC, d.id DESC"""

UNREAD = """
SELECT count(*) FROM deliveries d JOIN secure_messages m ON m.id = d.message_id
WHERE d.recipient_id = :uid AND d.recipient_status = 'Sent' AND m.recalled_at IS NULL
  AND (m.expires_at IS NULL OR m.expires_at > :now)"""

_DELIVERY = """
SELECT d.id, d.message_id, d.recipient_id, d.recipient_status, d.read_receipt_sent_at,
       m.subject, m.body, m.body_key_id, m.sent_at, m.expires_at, m.allow_reply,
       m.allow_reply_all, m.allow_forward, m.allow_print, m.read_receipt,
       s.email AS sender_email
FROM deliveries d JOIN secure_messages m ON m.id = d.message_id
JOIN users s ON s.id = m.sender_id"""
DELIVERY_BY_ID = _DELIVERY + " WHERE d.id = :id AND d.recipient_id = :uid"
DELIVERY_BY_LINK = _DELIVERY + " WHERE d.link_token_hash = :hash"

# The message row locked, as a recall locks it, and its status read under the lock.
# SQLite has no row locks: a no-op UPDATE takes the database's write lock.
_STATUS = "recalled_at, expires_at, recall_source, recall_reason"
LOCK_SQLITE = f"UPDATE secure_messages SET id = id WHERE id = :id RETURNING {_STATUS}"
LOCK_POSTGRES = f"SELECT {_STATUS} FROM secure_messages WHERE id = :id FOR UPDATE"

INSERT_EVIDENCE = """
INSERT INTO access_evidence (delivery_id, user_id, kind, occurred_at, channel, signed_in, ip,
                             user_agent, suspected_scanner, details)
VALUES (:delivery_id, :user_id, :kind, :occurred_at, :channel, :signed_in, :ip, :user_agent,
        :scanner, :details)"""

PEOPLE_OF_MESSAGE = """
SELECT d.kind, u.email FROM deliveries d JOIN users u ON u.id = d.recipient_id
WHERE d.message_id = :id ORDER BY d.position"""

SENT_ROWS = """
SELECT id, subject, sent_at, expires_at, recalled_at FROM secure_messages
WHERE sender_id = :uid ORDER BY sent_at DESC, id DESC LIMIT :limit OFFSET :offset"""

SEARCH_ROWS = """
SELECT m.id, m.subject, m.sent_at, m.expires_at, m.recalled_at, s.email AS sender_email
FROM secure_messages m JOIN users s ON s.id = m.sender_id
WHERE m.sent_at >= :since ORDER BY m.sent_at DESC, m.id DESC LIMIT :limit OFFSET :offset"""

DETAILS_MESSAGE = """
SELECT m.id, m.subject, m.sent_at, m.expires_at, m.recalled_at, m.recall_source,
       m.recall_reason, m.allow_reply, m.allow_reply_all, m.allow_forward, m.allow_print,
       m.read_receipt, s.email AS sender_email, r.email AS recalled_by_email
FROM secure_messages m JOIN users s ON s.id = m.sender_id
LEFT JOIN users r ON r.id = m.recalled_by_id WHERE m.id = :id"""

DETAILS_DELIVERIES = """
SELECT d.id, d.recipient_id, d.kind, d.recipient_status, d.first_read_at,
       d.first_read_channel, u.email
FROM deliveries d JOIN users u ON u.id = d.recipient_id
WHERE d.message_id = :id ORDER BY d.position"""

DETAILS_EVIDENCE = """
SELECT delivery_id, kind, occurred_at, channel, signed_in, ip, suspected_scanner, details
FROM access_evidence WHERE delivery_id IN (SELECT id FROM deliveries WHERE message_id = :id)
ORDER BY occurred_at, id"""

LOGONS = """
SELECT user_id, occurred_at FROM access_evidence
WHERE user_id IN {ids} AND kind = 'portal_logon' AND occurred_at >= :since
  AND occurred_at <= :until ORDER BY occurred_at DESC"""


def to_summaries(store, message_ids):
    """The To column: one address, or `first@domain and N other(s)`."""
    addresses = {message_id: [] for message_id in message_ids}
    if message_ids:
        ids, params = store.in_list("m", message_ids)
        for row in store.all("SELECT d.message_id, u.email FROM deliveries d JOIN users u "
                             f"ON u.id = d.recipient_id WHERE d.message_id IN {ids} "
                             "ORDER BY d.message_id, d.position", **params):
            addresses[row["message_id"]].append(row["email"])
    return {message_id: ("" if not emails else emails[0] if len(emails) == 1
                         else f"{emails[0]} and {len(emails) - 1} other(s)")
            for message_id, emails in addresses.items()}


def message_details(store, message_id, now):
    message = store.one(DETAILS_MESSAGE, id=message_id)
    if message is None:
        return None
    deliveries = store.all(DETAILS_DELIVERIES, id=message_id)
    evidence = store.all(DETAILS_EVIDENCE, id=message_id)
    sent_at, recalled_at = store.when(message["sent_at"]), store.when(message["recalled_at"])
    user_ids = sorted({d["recipient_id"] for d in deliveries})
    logons = {user_id: [] for user_id in user_ids}
    if user_ids:
        ids, params = store.in_list("u", user_ids)
        for row in store.all(LOGONS.format(ids=ids), since=store.at(sent_at),
                             until=store.at(recalled_at or now), **params):
            if len(logons[row["user_id"]]) < 5:
                logons[row["user_id"]].append(store.when(row["occurred_at"]))
    by_delivery = {d["id"]: [] for d in deliveries}
    for e in evidence:
        details = e["details"]
        by_delivery[e["delivery_id"]].append({
            "kind": e["kind"], "at": store.when(e["occurred_at"]), "channel": e["channel"],
            "signed_in": e["signed_in"], "ip": e["ip"], "scanner": e["suspected_scanner"],
            "details": json.loads(details) if isinstance(details, str) else details})
    recipients = []
    for d in deliveries:
        events = by_delivery[d["id"]]
        views = [e for e in events if e["kind"] == "message_viewed"]
        cancelled = next((e for e in events if e["kind"] == "notification_cancelled"), None)
        recipients.append({
            "id": d["id"], "email": d["email"], "kind": d["kind"],
            "status": d["recipient_status"], "first_read_at": store.when(d["first_read_at"]),
            "first_read_channel": d["first_read_channel"], "views": views,
            "link_opens": [e for e in events if e["kind"] == "link_opened"],
            "refusals": [e for e in events if e["kind"] == "access_refused"],
            "logons": logons[d["recipient_id"]], "cancelled": cancelled,
            "cancel_reason": CANCEL_REASONS.get(cancelled["details"].get("reason", ""),
                                                cancelled["details"].get("reason", ""))
            if cancelled else None,
            "read_before_recall": None if recalled_at is None
            else any(v["at"] <= recalled_at for v in views),
            "disagreement": (
                "The status says Sent, but the message body was shown to this recipient via "
                f"the {CHANNEL_LABELS[views[0]['channel']].lower()}")
            if d["recipient_status"] == "Sent" and views else None,
        })
    status = status_at(message["recalled_at"], message["expires_at"], now)
    return {"message": message, "sent_at": sent_at, "recalled_at": recalled_at,
            "expires_at": store.when(message["expires_at"]), "status": status,
            "to": ", ".join(d["email"] for d in deliveries if d["kind"] == "to"),
            "cc": ", ".join(d["email"] for d in deliveries if d["kind"] == "cc"),
            "recipients": recipients}


# -- small helpers ------------------------------------------------------------------


def status_at(recalled_at, expires_at, now):
    if recalled_at is not None:
        return "Recalled"
    if expires_at is not None and Store.when(expires_at) <= now:
        return "Expired"
    return "Sent"


def ended_notice(store, row, status):
    if status == "Recalled":
        who = "the sender" if row["recall_source"] == "sender" else "an administrator"
        reason = f" Reason: {row['recall_reason']}" if row["recall_reason"] else ""
        return f"Recalled by {who} on {format_datetime(store.when(row['recalled_at']))}.{reason}"
    if status == "Expired":
        return f"Expired on {format_datetime(store.when(row['expires_at']))}."
    return None


def pager(page, total, per_page):
    return {"page": page, "pages": max((total + per_page - 1) // per_page, 1), "total": total}


def zone_for(name):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return UTC


def format_datetime(value):
    """`27 Nov 2026 19:31 UTC`, in the signed-in person's zone."""
    if value is None:
        return ""
    try:
        local = value.astimezone(g.get("zone") or UTC)
    except OverflowError:
        local = value.astimezone(UTC)
    return f"{local:%d %b %Y %H:%M} {local.tzname()}"


def iso_utc(value):
    return value.astimezone(UTC).isoformat() if value else ""


def _give_the_log_a_handler():
    if not log.handlers:
        handler = logging.StreamHandler(wsgi_errors_stream)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.propagate = False
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
