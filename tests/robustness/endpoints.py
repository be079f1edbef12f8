"""Every route of the portal, with what its URL, query string and form take.

`ENDPOINTS` is checked against `app.url_map` (test_every_route_is_fuzzed): a new
route, a changed rule or a new method fails that test until it is described here
(or listed in NOT_FUZZED with the reason).

Each field names the kind of value it takes; `field_values` turns a kind into a
strategy that mixes valid values (so the success paths run too) with hostile ones.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

from hypothesis import strategies as st

from portal.audit.catalogue import AUDIT_TYPES, CATEGORIES
from portal.demo.data import DEMO_PASSWORD
from portal.messaging.search import RANGES, STATUSES
from tests.robustness import hostile

# Routes deliberately left out, with the reason. Empty: every route is fuzzed.
NOT_FUZZED = {}

GROUPS = ("public", "recipient", "sender", "admin", "account")


@dataclass(frozen=True)
class Endpoint:
    endpoint: str
    rule: str
    methods: tuple               # as the rule serves them (HEAD and OPTIONS only where explicit)
    group: str
    path: dict = field(default_factory=dict)    # URL parameter -> kind
    query: dict = field(default_factory=dict)   # query argument -> kind
    form: dict = field(default_factory=dict)    # form field -> kind
    hx_targets: tuple = ()                      # HX-Target values its pages answer


SEARCH_QUERY = {"from": "search_text", "to": "search_text", "subject": "search_text",
                "range": "range", "start": "date", "end": "date", "status": "status",
                "sort": "sort", "page": "page"}
AUDIT_QUERY = {"category": "category", "type": "audit_type", "actor": "search_text",
               "q": "search_text", "start": "date", "end": "date", "page": "page"}
DAYS_QUERY = {"start": "date", "end": "date", "page": "page"}
SETTINGS_FORM = {"edition": "edition", "read_status_mode": "read_status_mode",
                 "default_expiry_days": "expiry_days", "allow_no_expiry": "flag",
                 "default_allow_reply": "flag", "default_allow_reply_all": "flag",
                 "default_allow_forward": "flag", "default_allow_print": "flag",
                 "default_read_receipt": "flag", "time_zone": "time_zone"}
COMPOSE_FORM = {"to": "addresses", "cc": "addresses", "subject": "text", "body": "body",
                "expiry_date": "date", "no_expiry": "flag", "allow_reply": "flag",
                "allow_reply_all": "flag", "allow_forward": "flag", "allow_print": "flag",
                "read_receipt": "flag"}
PASSWORDS = {"password": "new_password", "confirm_password": "new_password"}

ENDPOINTS = [
    # signed out or anybody
    Endpoint("home", "/", ("GET",), "public", query={"next": "next"}),
    Endpoint("static", "/static/<path:filename>", ("GET",), "public",
             path={"filename": "static_file"}),
    Endpoint("auth.sign_in_page", "/sign-in", ("GET", "POST"), "public",
             query={"next": "next", "signed_out": "flag"},
             form={"email": "email", "password": "password", "next": "next"}),
    Endpoint("auth.sign_out_action", "/sign-out", ("POST",), "public"),
    Endpoint("auth.register", "/register/<token>", ("GET", "POST"), "public",
             path={"token": "register_token"}, form=PASSWORDS),
    Endpoint("auth.change_password_page", "/password", ("GET", "POST"), "public",
             form={"current_password": "password", **PASSWORDS}),
    Endpoint("dev.mailbox", "/dev/mailbox", ("GET",), "public", query={"page": "page"}),
    Endpoint("dev.email", "/dev/mailbox/<int:email_id>", ("GET",), "public",
             path={"email_id": "outbox_email_id"}),
    # recipients and senders as mailbox holders
    Endpoint("recipient.inbox", "/inbox", ("GET",), "recipient", query={"page": "page"}),
    Endpoint("recipient.inbox_message", "/inbox/<int:delivery_id>", ("GET",), "recipient",
             path={"delivery_id": "delivery_id"}, query={"page": "page"},
             hx_targets=("reading-pane",)),
    Endpoint("recipient.respond_to", "/inbox/<int:delivery_id>/<any(reply, 'reply-all', "
             "forward):action>", ("GET", "POST"), "recipient",
             path={"delivery_id": "delivery_id", "action": "action"},
             form={"to": "addresses", "body": "body"}),
    Endpoint("recipient.open_link", "/m/<token>", ("GET", "HEAD"), "recipient",
             path={"token": "link_token"}),
    # senders
    Endpoint("sender.compose", "/compose", ("GET", "POST"), "sender", form=COMPOSE_FORM),
    Endpoint("sender.sent_messages", "/sent", ("GET",), "sender", query={"page": "page"}),
    Endpoint("sender.sent_message", "/sent/<int:message_id>", ("GET",), "sender",
             path={"message_id": "message_id"}, query={"confirm": "confirm"}),
    Endpoint("sender.recall", "/sent/<int:message_id>/recall", ("POST",), "sender",
             path={"message_id": "message_id"}, form={"reason": "reason"}),
    # administrators: Email Delivery > Secure Messaging
    Endpoint("admin.secure_messaging", "/admin/secure-messaging", ("GET",), "admin",
             query=SEARCH_QUERY, hx_targets=("search-results", "details-panel")),
    Endpoint("admin.message_details_panel", "/admin/secure-messaging/messages/<int:message_id>",
             ("GET",), "admin", path={"message_id": "message_id"},
             query={**SEARCH_QUERY, "tab": "tab"}, hx_targets=("details-panel", "search-results")),
    Endpoint("admin.recall_confirm", "/admin/secure-messaging/recall", ("GET",), "admin",
             query={"message_ids": "message_id_list", "back": "back"},
             hx_targets=("recall-dialog",)),
    Endpoint("admin.recall", "/admin/secure-messaging/recall", ("POST",), "admin",
             form={"message_ids": "message_id_list", "reason": "reason", "back": "back"},
             hx_targets=("recall-dialog",)),
    # administrators: Account
    Endpoint("account.audit_logs", "/account/audit-logs", ("GET",), "account",
             query=AUDIT_QUERY, hx_targets=("audit-results", "entry-panel")),
    Endpoint("account.audit_log_entry", "/account/audit-logs/<int:entry_id>", ("GET",),
             "account", path={"entry_id": "audit_entry_id"}, query=AUDIT_QUERY,
             hx_targets=("entry-panel", "audit-results")),
    Endpoint("account.audit_chain_status", "/account/audit-logs/chain", ("GET",), "account",
             hx_targets=("chain-status",)),
    Endpoint("account.export_audit_logs", "/account/audit-logs/export.csv", ("POST",),
             "account", form=AUDIT_QUERY),
    Endpoint("account.read_status_discrepancies", "/account/read-status-discrepancies",
             ("GET",), "account", query=DAYS_QUERY),
    Endpoint("account.read_status_discrepancies_csv", "/account/read-status-discrepancies.csv",
             ("GET",), "account", query=DAYS_QUERY),
    Endpoint("account.settings_page", "/account/settings", ("GET",), "account"),
    Endpoint("account.save_settings", "/account/settings", ("POST",), "account",
             form=SETTINGS_FORM),
    Endpoint("account.administrators_page", "/account/administrators", ("GET",), "account",
             query={"q": "search_text", "page": "page"}),
    Endpoint("account.save_admin_role",
             "/account/administrators/<int(max=2147483647):user_id>/role", ("POST",),
             "account", path={"user_id": "user_id"},
             form={"admin_role": "admin_role", "q": "search_text", "page": "page"}),
]

VALID_ADDRESSES = ("bob@partner.example", "erin@partner.example, frank@client.example",
                   "BOB@Partner.Example; carol@partner.example", "new.person@elsewhere.example",
                   "dave@example.com", "alice@example.com", "nobody@example.com",
                   "bob@partner.example bob@partner.example", ",,;", "x@y", "a@b.c@d",
                   "\"quoted\"@partner.example", "user@[127.0.0.1]", "user@xn--bcher-kva.example",
                   "ü@bücher.example", "bob@partner.example\u202e")
VALID_EMAILS = ("full.admin@example.com", "bob@partner.example", " ALICE@example.com ",
                "carol@partner.example", "nobody@nowhere.example")
STRONG = ("a-new-strong-password-1", DEMO_PASSWORD)
SEARCH_WORDS = ("alice", "partner", "example.com", "Recalled", "Seed", "expired", "@",
                "Fwd:", "Re: ")


@dataclass(frozen=True)
class Values:
    """A field's values: valid ones (other people's ids included) and hostile ones."""
    valid: object
    hostile: object


def _choices(choices):
    choices = tuple(choices)
    return Values(st.sampled_from(choices), hostile.near_misses(choices))


def _texts(valid):
    return Values(st.sampled_from(valid), hostile.text_value(valid))


def _ids(own, every):
    """The audience's own ids or anybody's (another user's is a valid-looking id too)."""
    real = st.sampled_from([str(i) for i in (own or every)])
    return Values(st.one_of(real, st.sampled_from([str(i) for i in every])),
                  hostile.number_value())


_BUILT = {}


def field_values(kind, world, audience):
    """The valid and the hostile values of one kind of field (built once per world)."""
    key = (id(world), kind, audience)
    if key not in _BUILT:
        _BUILT[key] = _field_values(kind, world, audience)
    return _BUILT[key]


def _field_values(kind, world, audience):
    pools = world.pools
    own_tokens = pools.own_link_tokens[audience] or pools.link_tokens
    today = date.today()
    match kind:
        case "delivery_id":
            return _ids(pools.own_delivery_ids[audience], pools.delivery_ids)
        case "message_id":
            return _ids(pools.own_message_ids[audience], pools.message_ids)
        case "user_id":
            return _ids(None, pools.user_ids)
        case "audit_entry_id":
            return _ids(None, pools.audit_entry_ids)
        case "outbox_email_id":
            return _ids(None, pools.outbox_email_ids)
        case "message_id_list":
            one = _ids(pools.own_message_ids[audience], pools.message_ids)
            # A flood too: past the 500 ids a page can hold, and past a short SQL IN list.
            flood = st.builds(lambda ids, count: (ids * count)[:count],
                              st.lists(one.valid, min_size=1, max_size=3),
                              st.sampled_from((501, 1001)))
            return Values(st.lists(one.valid, min_size=1, max_size=4),
                          st.one_of(st.lists(st.one_of(one.valid, one.hostile), max_size=6),
                                    flood))
        case "text":
            return _texts(("Quarterly statement", "Re: hello", "  padded  "))
        case "body":
            return _texts(("Hello,\nthe figures.", "Line one\r\nLine two"))
        case "reason":
            return _texts(("No longer needed", ""))
        case "search_text":
            return _texts(SEARCH_WORDS + ("",))
        case "addresses":
            return _texts(VALID_ADDRESSES)
        case "email":
            return _texts(VALID_EMAILS)
        case "password":
            return _texts((DEMO_PASSWORD, DEMO_PASSWORD, "wrong password"))
        case "new_password":
            return _texts(STRONG + ("short",))
        case "next":
            return _texts(("/inbox", "/admin/secure-messaging?range=7d", "//evil.example/",
                           "https://evil.example/", "/\\evil.example", "javascript:alert(1)"))
        case "back":
            return _texts(("/admin/secure-messaging?range=7d&page=2", "/admin/../account",
                           "https://evil.example/admin/", "/admin/x"))
        case "page":
            return Values(st.sampled_from(("1", "2", "")), hostile.number_value())
        case "date":  # blank half the time: two random days are in the wrong order half the time
            return Values(st.one_of(st.just(""), st.integers(-40, 40).map(
                lambda days: (today + timedelta(days=days)).isoformat())), hostile.date_value())
        case "flag":
            return Values(st.sampled_from(("y", "on", "true", "")), hostile.flag_value())
        case "range":
            return _choices(RANGES)
        case "status":
            return _choices(STATUSES + ("",))
        case "sort":
            return _choices(("oldest", "newest"))
        case "tab":
            return _choices(("message", "status"))
        case "confirm":
            return _choices(("recall",))
        case "category":  # mostly none: a type from another category is refused
            return _choices(("", "", "") + tuple(CATEGORIES))
        case "audit_type":
            return _choices(("", "", "") + tuple(t for types in AUDIT_TYPES.values()
                                                 for t in types))
        case "edition":
            return _choices(("Full", "Lite"))
        case "read_status_mode":
            return _choices(("content_viewed", "inbox_selection"))
        case "expiry_days":
            return Values(st.sampled_from(("1", "30", "3650", "")), hostile.number_value())
        case "time_zone":
            return Values(st.sampled_from(("UTC", "Europe/London", "Pacific/Kiritimati",
                                           "Etc/GMT+12", "America/St_Johns")),
                          st.one_of(st.sampled_from(("America", "../../etc/passwd", "Factory",
                                                     "posixrules", "localtime", "/etc/localtime",
                                                     "UTC\x00", "Europe/", " UTC")),
                                    hostile.text_value()))
        case "admin_role":
            return _choices(("none", "read_only", "basic", "full"))
        case "action":
            return _choices(("reply", "reply-all", "forward"))
        case "link_token":
            return Values(st.one_of(st.sampled_from(own_tokens),
                                    st.sampled_from(pools.link_tokens)),
                          st.one_of(hostile.text_value(), st.just("A" * 129),
                                    st.just(own_tokens[0] + "x"), st.just(own_tokens[0][:-1])))
        case "register_token":
            return Values(st.one_of(st.sampled_from(pools.unregistered_link_tokens),
                                    st.sampled_from(pools.link_tokens)), hostile.text_value())
        case "static_file":
            return Values(st.sampled_from(("css/portal.css", "js/portal.js")),
                          st.one_of(st.sampled_from(("../config.py", "..%2f..%2fconfig.py",
                                                     "css/../../config.py", "/etc/passwd", "css/",
                                                     "css/portal.css\x00.js", "%00",
                                                     "css/portal.css/.", "..", "./css/portal.css")),
                                    hostile.text_value()))
    raise KeyError(kind)
