"""Generated cases against the portal, and what every answer must satisfy.

A case is one request: an endpoint, who sends it (an audience), the account's
edition and read-status mode, a path, query string and form built from hostile
values, a CSRF token (valid mostly; missing, wrong or another session's
sometimes) and sometimes htmx headers. Every answer must:

  (a) not be a 5xx, and not come from an unhandled exception or an error logged
      by the app (a handled 500 page counts as a failure too);
  (b) if it refuses the request (status >= 400, or a redirect to sign-in), leave
      the domain data as it was, but for the records the product keeps of a
      refusal (REFUSAL_RECORDS below);
  (c) if it is HTML, not hold any sent or stored value with < > " ' verbatim
      (each carries a canary, hostile.CANARY, that no escaped value and no markup
      of the portal's own can show).

An accepted form post that redirects is followed once (a GET), and that page
must meet (a) and (c): it is where a stored value shows up next.
"""
import functools
import json
import logging
import math
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus, urlsplit

from flask import got_request_exception
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from portal.access import rule_for
from portal.models import AdminRole, Audience
from portal.web.throttling import limiter
from tests.robustness import hostile
from tests.robustness.endpoints import ENDPOINTS, field_values
from tests.robustness.world import AUDIENCE_EMAILS, AUDIENCES, SESSION_COOKIE

# -- size and randomness -----------------------------------------------------------------

DEFAULT_EXAMPLES = 1000  # cases per database in a default run, shared out among the groups


def examples_per_backend():
    return int(os.environ.get("PORTAL_FUZZ_EXAMPLES") or DEFAULT_EXAMPLES)


def examples_for(group):
    """The group's share of the cases: in proportion to its endpoints (rounded up, so the
    groups together run at least PORTAL_FUZZ_EXAMPLES), and at least 20."""
    in_group = sum(1 for e in ENDPOINTS if e.group == group)
    return max(20, math.ceil(examples_per_backend() * in_group / len(ENDPOINTS)))


# CI runs the same cases every time (derandomize); elsewhere each run explores new ones and
# keeps what failed in .hypothesis/ (git-ignored) to try first next time.
settings.register_profile("portal-fuzz-ci", deadline=None, derandomize=True, database=None,
                          suppress_health_check=list(HealthCheck), print_blob=True)
settings.register_profile("portal-fuzz", deadline=None, suppress_health_check=list(HealthCheck),
                          print_blob=True)


def hypothesis_settings(max_examples):
    profile = "portal-fuzz-ci" if os.environ.get("CI") == "true" else "portal-fuzz"
    return settings(settings.get_profile(profile), max_examples=max_examples)


# -- what a refused request may still write ------------------------------------------------

def _details(row):
    details = row["details"]
    return details if isinstance(details, dict) else json.loads(details or "{}")


REFUSAL_RECORDS = {
    # A refused sign-in, a wrong current password and a refused admin recall are audited:
    # the entry is the product's record of the refusal (README "The audit log"; access.py
    # refusal_audit). A refused GET (a link anyone can craft) writes nothing in the
    # person's name.
    "audit_log_entries": lambda row: row["type"] in {
        "Authentication - Sign In Failed", "Authentication - Password Change Failed"} or (
        row["type"] == "Secure Messaging - Admin Recall Refused"
        and _details(row).get("method") not in ("GET", "HEAD", "OPTIONS")),
    # Opening a notification link is evidence however it is answered (someone else's
    # link: 404; recalled or expired: 410), and so is a refused view of a message.
    "access_evidence": lambda row: row["kind"] in {"link_opened", "access_refused"},
}
# The chain head moves with every audit entry, those above included.
MOVES_WITH = {"audit_chain_head": "audit_log_entries"}

DEFAULT_SETTINGS = ("Full", "content_viewed")
SETTINGS_VARIANTS = (DEFAULT_SETTINGS,) * 4 + (
    ("Lite", "content_viewed"), ("Full", "inbox_selection"), ("Lite", "inbox_selection"))

CSRF_MODES = ("field",) * 6 + ("header",) * 2 + ("missing", "garbage", "foreign")
WRONG_METHODS = ("PUT", "DELETE", "PATCH", "OPTIONS", "POST", "GET", "HEAD")


# -- a case ------------------------------------------------------------------------------

def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…({len(value)} long)"


@dataclass
class Case:
    endpoint: str
    audience: str
    account_settings: tuple
    method: str
    path: str
    query: list
    form: list | None
    body_format: str
    headers: dict
    csrf: str
    values: list = field(default_factory=list)  # every generated value sent
    forged_cookie: str | None = None  # sent instead of the audience's session cookie

    def __repr__(self):
        def pairs(items):
            return "[" + ", ".join(f"({_short(k)}, {_short(v)})" for k, v in items) + "]"

        return (f"Case({self.method} {_short(self.path, 200)} as {self.audience} "
                f"{self.account_settings} csrf={self.csrf} query={pairs(self.query)} "
                f"form={pairs(self.form or [])} as {self.body_format} "
                f"headers={pairs(self.headers.items())}"
                + (f" cookie={_short(self.forged_cookie)}" if self.forged_cookie else "") + ")")

    @property
    def url(self):
        if not self.query:
            return self.path
        return self.path + "?" + "&".join(f"{_quote(k)}={_quote(v)}" for k, v in self.query)


def _text(value):
    """Multipart and JSON bodies carry text: broken bytes arrive as replacement characters."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _quote(value, safe=""):
    return quote_plus(value, safe=safe) if isinstance(value, (str, bytes)) else str(value)


def _path_segment(value, keep_slashes):
    return quote(value, safe="/" if keep_slashes else "")


PARAMETER = re.compile(r"<(?:[^:<>]+:)?(\w+)>")


class _AudienceStub:
    """Enough of a user for the access policy to say whether an audience is allowed."""

    ROLES = {"read_only_admin": AdminRole.READ_ONLY, "basic_admin": AdminRole.BASIC,
             "full_admin": AdminRole.FULL}

    def __init__(self, audience):
        self.is_authenticated = AUDIENCE_EMAILS[audience] is not None
        self.role = self.ROLES.get(audience)
        self.audience = (Audience.ADMIN if self.role else Audience.SENDER
                         if audience == "sender" else Audience.RECIPIENT)

    def has_admin_role(self, minimum):
        return self.role is not None and self.role.rank >= minimum.rank


@functools.cache
def allowed_audiences(endpoint):
    rule = rule_for(endpoint)
    return [a for a in AUDIENCES if rule.allows(_AudienceStub(a))]


# Strategies built once: building one per draw costs more than drawing from it.
ANY_TEXT = hostile.text_value()
PERCENT = st.integers(0, 99)
BOOLEANS = st.booleans()
PRESENCE = st.sampled_from(("once",) * 8 + ("missing", "repeated"))
REPEATS = st.integers(2, 3)
EXTRA_FIELD = st.one_of(ANY_TEXT, st.sampled_from(
    ("csrf_token", "id", "user_id", "admin_role", "sender_id", "is_internal", "page")))
HX_TARGET_NOISE = st.one_of(st.sampled_from(("main", "true", "")), ANY_TEXT)
HX_CURRENT_URL = st.one_of(st.sampled_from(("http://localhost/inbox?page=2",
                                            "/admin/secure-messaging", "//evil.example/",
                                            "http://evil.example/x")), ANY_TEXT)
PREFETCH_HEADER = st.sampled_from(("Purpose", "Sec-Purpose", "X-Moz"))
BODY_FORMAT = st.sampled_from(("urlencoded",) * 8 + ("multipart", "json"))
SETTINGS_VARIANT = st.sampled_from(SETTINGS_VARIANTS)
CSRF_MODE = st.sampled_from(CSRF_MODES)
WRONG_METHOD = st.sampled_from(WRONG_METHODS)

# How much of a case is hostile. "one": a single field is, the others are valid, so
# the case reaches the check of that one field; "some" and "most": each field is,
# with that chance. A hostile field has a hostile value, is left out, or is repeated.
HOSTILITY = st.sampled_from(("one", "one", "some", "most"))
CHANCE = {"some": 30, "most": 80}
HOSTILE_PRESENCE = st.sampled_from(("value",) * 3 + ("missing", "repeated"))


def _one_in(draw, n):
    return draw(PERCENT) < 100 // n


class Hostility:
    """Decides, field by field, which fields of a case get hostile input."""

    def __init__(self, draw, level, field_count):
        self.draw, self.level, self.index = draw, level, -1
        # "one" may also pick no field at all (index field_count): a wholly valid case.
        self.chosen = draw(st.integers(0, field_count)) if level == "one" else None

    def next_field_is_hostile(self):
        self.index += 1
        if self.level == "one":
            return self.index == self.chosen
        return self.draw(PERCENT) < CHANCE[self.level]


def _value(draw, values, hostile_one):
    return draw(values.hostile if hostile_one else values.valid)


def _pairs(draw, fields, world, audience, hostility, values):
    """Each field valid and present once, or hostile: a hostile value, left out, or
    repeated; sometimes a field nobody asked for, and sometimes in another order."""
    pairs = []
    for name, kind in fields.items():
        field_strategy = field_values(kind, world, audience)
        presence = "once"
        if hostility.next_field_is_hostile():
            presence = draw(HOSTILE_PRESENCE)
        if presence == "missing":
            continue
        for _ in range(draw(REPEATS) if presence == "repeated" else 1):
            value = _value(draw, field_strategy, presence == "value" or draw(BOOLEANS)
                           if presence != "once" else False)
            for item in (value if isinstance(value, list) else [value]):
                values.append(item)
                pairs.append((name, item))
    if _one_in(draw, 10):
        name, value = draw(EXTRA_FIELD), draw(ANY_TEXT)
        values.extend([name, value])
        pairs.append((name, value))
    if len(pairs) > 1 and _one_in(draw, 6):
        pairs = draw(st.permutations(pairs))
    return pairs


def endpoints_of(group):
    """The group's endpoints; PORTAL_FUZZ_ONLY (comma-separated endpoint names) narrows them."""
    only = [name for name in os.environ.get("PORTAL_FUZZ_ONLY", "").split(",") if name]
    return [e for e in ENDPOINTS if e.group == group and (not only or e.endpoint in only)]


@functools.cache
def _group_strategies(group):
    endpoints = endpoints_of(group)
    audiences = {e.endpoint: st.one_of(st.sampled_from(allowed_audiences(e.endpoint)),
                                       st.sampled_from(allowed_audiences(e.endpoint)),
                                       st.sampled_from(AUDIENCES)) for e in endpoints}
    # HEAD (the notification link's, for scanners) now and then; the others evenly.
    methods = {e.endpoint: st.sampled_from(tuple(m for m in e.methods if m != "HEAD") * 3
                                           + tuple(m for m in e.methods if m == "HEAD"))
               for e in endpoints}
    hx_targets = {e.endpoint: st.sampled_from(e.hx_targets or ("main",)) for e in endpoints}
    foreign = {a: st.sampled_from([b for b in AUDIENCES if b not in (a, "no_cookie")])
               for a in AUDIENCES}
    return st.sampled_from(endpoints), audiences, methods, hx_targets, foreign


@st.composite
def cases(draw, world, group):
    endpoint_choice, audience_choice, method_choice, hx_target_choice, foreign_choice = \
        _group_strategies(group)
    endpoint = draw(endpoint_choice)
    audience = draw(audience_choice[endpoint.endpoint])
    values = []
    hostility = Hostility(draw, draw(HOSTILITY),
                          len(endpoint.path) + len(endpoint.query) + len(endpoint.form))

    path = endpoint.rule
    for name, kind in endpoint.path.items():
        value = _value(draw, field_values(kind, world, audience),
                       hostility.next_field_is_hostile())
        values.append(value)
        segment = _path_segment(value, keep_slashes=draw(BOOLEANS))
        path = re.sub(rf"<(?:[^<>]*:)?{name}>", lambda _, segment=segment: segment, path,
                      count=1)
    assert not PARAMETER.search(path), path

    method = draw(method_choice[endpoint.endpoint])
    if _one_in(draw, 20):
        method = draw(WRONG_METHOD)
    query = _pairs(draw, endpoint.query, world, audience, hostility, values)
    form = _pairs(draw, endpoint.form, world, audience, hostility, values) \
        if method not in ("GET", "HEAD", "OPTIONS") else None

    csrf = draw(CSRF_MODE)
    headers = {}
    token = {"field": lambda: world.csrf_tokens[audience],
             "header": lambda: world.csrf_tokens[audience],
             "missing": lambda: None,
             "garbage": lambda: draw(ANY_TEXT),
             "foreign": lambda: world.csrf_tokens[draw(foreign_choice[audience])]}[csrf]()
    if csrf == "header" and token:
        headers["X-CSRFToken"] = token
    elif token is not None and form is not None:
        form.insert(draw(st.integers(0, len(form))), ("csrf_token", token))
        if csrf == "garbage":
            values.append(token)

    if _one_in(draw, 3):
        headers["HX-Request"] = "true"
        target = draw(hx_target_choice[endpoint.endpoint]) if draw(BOOLEANS) \
            else draw(HX_TARGET_NOISE)
        headers["HX-Target"] = hostile.header_safe(target)
        if draw(BOOLEANS):
            headers["HX-Current-URL"] = hostile.header_safe(draw(HX_CURRENT_URL))
        if _one_in(draw, 4):
            headers["HX-Boosted"] = "true"
    if _one_in(draw, 5):
        headers["User-Agent"] = hostile.header_safe(draw(ANY_TEXT))
    if _one_in(draw, 10):
        headers["X-Request-ID"] = hostile.header_safe(draw(ANY_TEXT))
    if endpoint.endpoint == "recipient.open_link" and _one_in(draw, 5):
        headers[draw(PREFETCH_HEADER)] = "prefetch"
    values.extend(v for k, v in headers.items() if k not in ("HX-Request", "X-CSRFToken"))
    forged_cookie = None
    if _one_in(draw, 25):  # a session cookie that is not one: garbage, or cut short
        forged = draw(st.one_of(ANY_TEXT, st.just((world.cookies["recipient"] or "")[:-3])))
        # (a browser sends no cookie over 4 kB, and werkzeug's test client warns of one:
        # 500 characters stay under it however the cookie quotes them, 8 bytes at most each)
        forged_cookie = hostile.header_safe(forged).replace(";", "")[:500]

    return Case(endpoint=endpoint.endpoint, audience=audience,
                account_settings=draw(SETTINGS_VARIANT), method=method, path=path,
                query=query, form=form,
                body_format=draw(BODY_FORMAT) if form is not None else "urlencoded",
                headers=headers, csrf=csrf, values=values, forged_cookie=forged_cookie)


# -- running a case and checking the answer ---------------------------------------------

class AppErrors(logging.Handler):
    """Errors the app logged (its handled 500s log one) and exceptions Flask signalled."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.seen = []

    def emit(self, record):
        self.seen.append(record.getMessage()[:2000])

    def signalled(self, sender, exception, **extra):
        self.seen.append(f"got_request_exception: {type(exception).__name__}")


@dataclass
class Tally:
    cases: int = 0
    follow_ups: int = 0
    restores: int = 0  # cases that wrote something, undone before the next one
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    by_endpoint: Counter = field(default_factory=Counter)  # (endpoint, status) -> cases

    def add(self, other):
        self.cases += other.cases
        self.follow_ups += other.follow_ups
        self.restores += other.restores
        self.seconds += other.seconds
        self.statuses.update(other.statuses)
        self.by_endpoint.update(other.by_endpoint)

    def endpoint_lines(self):
        endpoints = sorted({endpoint for endpoint, _ in self.by_endpoint})
        for endpoint in endpoints:
            counts = sorted((status, n) for (e, status), n in self.by_endpoint.items()
                            if e == endpoint)
            yield f"    {endpoint}: " + ", ".join(f"{status}: {n}" for status, n in counts)

    def line(self, label):
        statuses = ", ".join(f"{code}: {count}" for code, count in sorted(self.statuses.items()))
        return (f"{label}: {self.cases} cases (+{self.follow_ups} follow-up GETs, "
                f"{self.restores} wrote) in {self.seconds:.1f} s; statuses {statuses}")


# backend -> group -> Tally; read by the terminal summary (conftest.py).
TALLIES = {}


class Fuzzer:
    def __init__(self, world, group):
        self.world = world
        self.group = group
        self.tally = Tally()
        self.errors = AppErrors()

    def __enter__(self):
        app = self.world.app
        app.logger.addHandler(self.errors)
        got_request_exception.connect(self.errors.signalled, app)
        # One JSON line per request would bury everything else with `pytest -s`.
        self.request_log = logging.getLogger("portal.requests")
        self.request_log_was_disabled = self.request_log.disabled
        self.request_log.disabled = True
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        app = self.world.app
        app.logger.removeHandler(self.errors)
        got_request_exception.disconnect(self.errors.signalled, app)
        self.request_log.disabled = self.request_log_was_disabled
        self.tally.seconds = time.perf_counter() - self.started
        TALLIES.setdefault(self.world.backend, {}).setdefault(self.group, Tally()).add(self.tally)
        return False

    def run(self, case):
        note(repr(case))
        world = self.world
        limiter.reset()  # fresh counters: throttling must not answer for the portal
        self.errors.seen.clear()
        before = world.baseline
        if case.account_settings != DEFAULT_SETTINGS:
            world.set_account_settings(*case.account_settings)
            before = {**before, **world.fingerprint({"account_settings"})}
        client = world.app.test_client()
        cookie = case.forged_cookie or world.cookies[case.audience]
        if cookie:
            client.set_cookie(SESSION_COOKIE, cookie)
        final = None
        try:
            response = self._send(client, case)
            self.tally.cases += 1
            self.tally.statuses[response.status_code] += 1
            self.tally.by_endpoint[case.endpoint, response.status_code] += 1
            if os.environ.get("PORTAL_FUZZ_TRACE"):
                print(response.status_code, case)
            self._check_answer(case, response, "the answer")
            final = world.fingerprint()
            if refused(response):
                check_nothing_written(before, final)
            location = response.headers.get("Location", "")
            if case.method == "POST" and response.status_code in (301, 302, 303) \
                    and not refused(response) and not urlsplit(location).netloc:
                final = None
                follow_up = self._send(client, Case(**{**vars(case), "method": "GET",
                                                       "form": None}), url=location)
                self.tally.follow_ups += 1
                self._check_answer(case, follow_up, f"the page it led to ({location})")
        finally:
            # Back to the snapshot, whatever happened: the next case starts where this one did.
            final = final or world.fingerprint()
            changed = {name for name, rows in final.items() if rows != world.baseline[name]}
            if changed:
                self.tally.restores += 1
                world.restore(changed)

    def _send(self, client, case, url=None):
        kwargs = {"method": case.method, "headers": case.headers}
        if case.form is not None:
            if case.body_format == "multipart":
                kwargs["data"] = MultiDict([(_text(k), _text(v)) for k, v in case.form])
                kwargs["content_type"] = "multipart/form-data"
            elif case.body_format == "json":
                kwargs["data"] = json.dumps({_text(k): _text(v) for k, v in case.form})
                kwargs["content_type"] = "application/json"
            else:
                kwargs["data"] = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in case.form)
                kwargs["content_type"] = "application/x-www-form-urlencoded"
        try:
            return client.open(url or case.url, **kwargs)
        except Exception as error:  # an exception through the test client: unhandled
            raise AssertionError(f"unhandled {type(error).__name__}: {error}") from error

    def _check_answer(self, case, response, what):
        assert response.status_code < 500, f"{what} is a {response.status_code}"
        assert not self.errors.seen, f"{what}: the app logged an error: {self.errors.seen}"
        if response.mimetype == "text/html":
            # Every sent value with < > " ' carries a canary, and so does every stored one
            # (world.SEEDED): one found raw is a value printed unescaped.
            body = response.get_data(as_text=True)
            raw = hostile.CANARY.search(body)
            assert raw is None, (f"{what} shows a value unescaped: "
                                 f"{body[max(0, raw.start() - 120):raw.end() + 40]!r}")


def refused(response):
    if response.status_code >= 400:
        return True
    if response.status_code in (301, 302, 303):
        location = urlsplit(response.headers.get("Location", ""))
        return location.path == "/sign-in" and "signed_out" not in location.query
    return False


def check_nothing_written(before, after):
    problems = []
    for name in before:
        if before[name] == after[name] or name in MOVES_WITH:
            continue
        old = {row[0]: row for row in before[name]}
        new = {row[0]: row for row in after[name]}
        allowed = REFUSAL_RECORDS.get(name)
        for key in old.keys() | new.keys():
            if old.get(key) == new.get(key):
                continue
            row = dict(new[key]) if key in new else None
            if key not in old and allowed is not None and allowed(row):
                continue
            problems.append(f"{name}: {_short(old.get(key), 300)} -> {_short(new.get(key), 300)}")
    for name, follows in MOVES_WITH.items():
        if before[name] != after[name] and before[follows] == after[follows]:
            problems.append(f"{name} moved with no entry added")
    assert not problems, "a refused request wrote: " + "; ".join(problems)
