"""People at their browsers, each an OS process of its own, talking HTTP to a real server.

Standard library only (urllib, http.cookiejar): a client knows nothing of the
portal's code, starts quickly, and holds its own cookies, as a browser does.
Every reply is timed on the client with time.monotonic(), which on Linux is one
clock for every process on the machine, so times from different clients compare.
"""
import random
import re
import time
import traceback
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
# The token every page carries: in the <head> meta of signed-in pages, in a hidden
# field on the sign-in form.
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"|name="csrf_token"[^>]*value="([^"]+)"')
TIMEOUT = 30


class LoopbackIsSecure(DefaultCookiePolicy):
    """Production's cookie is `__Host-session` with `Secure`. Browsers treat
    http://127.0.0.1 as a secure context and send it there; urllib's default policy
    sends Secure cookies over https only. These clients only ever talk to loopback."""

    def return_ok_secure(self, cookie, request):
        return urllib.parse.urlsplit(request.full_url).hostname == "127.0.0.1"


class EveryReplyAsIs(urllib.request.HTTPErrorProcessor):
    """Redirects and error statuses come back as replies, not exceptions: a person's
    browser would show them, and the test wants to see each one."""

    def http_response(self, request, response):
        return response


@dataclass(frozen=True)
class Reply:
    status: int
    location: str
    text: str
    sent: float
    received: float


class Browser:
    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar(LoopbackIsSecure())), EveryReplyAsIs)
        self.csrf_token = None

    def request(self, method, path, form=None, headers=None):
        data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"User-Agent": AGENT, **(headers or {})})
        sent = time.monotonic()
        with self.opener.open(request, timeout=TIMEOUT) as response:
            text = response.read().decode("utf-8", "replace")
            received = time.monotonic()
            return Reply(response.status, response.headers.get("Location", ""), text, sent,
                         received)

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post(self, path, form):
        return self.request("POST", path, form={**form, "csrf_token": self.csrf_token})

    def take_csrf_token(self, reply):
        match = CSRF.search(reply.text)
        assert match, f"no CSRF token in the reply ({reply.status})"
        self.csrf_token = match.group(1) or match.group(2)

    def sign_in(self, email, password):
        """Through the real form, as a person does: its CSRF token, then the token of
        the session that signing in starts (it clears the one from before)."""
        self.take_csrf_token(self.get("/sign-in"))
        reply = self.post("/sign-in", {"email": email, "password": password})
        assert reply.status == 302, f"signing in {email}: {reply.status}"
        self.take_csrf_token(self.get(reply.location))
        return reply


def _report_failure(out, who, barriers):
    for barrier in barriers:
        barrier.abort()  # nobody waits for a client that is gone
    out.put({"who": who, "error": traceback.format_exc()})


def viewer(base, email, password, channel, targets, start, stop, round_now, out, seed):
    """A recipient reading their messages over and over through one channel.

    `targets`: (message id, delivery id, link token, body, round) for each of their
    deliveries. Three times in four the next one is from the round being recalled
    now (`round_now`), so views and recalls meet; otherwise any of them.
    Records (message id, sent, received, status, body shown, recall notice shown)
    per request.
    """
    who = f"{email} ({channel})"
    try:
        browser = Browser(base)
        browser.sign_in(email, password)
        rng = random.Random(seed)
        start.wait(60)
        records = []
        while not stop.is_set():
            hot = [t for t in targets if t[4] == round_now.value]
            message_id, delivery_id, token, body, _ = rng.choice(
                hot if hot and rng.random() < 0.75 else targets)
            if channel == "direct_link":
                reply = browser.get(f"/m/{token}")
            else:  # the Inbox: htmx loads the selected message into the reading pane
                reply = browser.get(f"/inbox/{delivery_id}", headers={
                    "HX-Request": "true", "HX-Target": "reading-pane",
                    "HX-Current-URL": f"{base}/inbox"})
            records.append((message_id, reply.sent, reply.received, reply.status,
                            body in reply.text, "Recalled by" in reply.text))
        out.put({"who": who, "channel": channel, "records": records})
    except Exception:
        _report_failure(out, who, [start])


def recaller(base, email, password, plan, gap, start, rounds, round_now, lead, out):
    """A sender or administrator recalling, round by round, in step with the others.

    `plan`: per round, a list of ("sender", message id) or ("admin", [message ids]).
    Every recaller waits at the `rounds` barrier, then all fire together. Records
    (message ids, sent, received, status) per recall request.
    """
    who = email
    try:
        browser = Browser(base)
        browser.sign_in(email, password)
        start.wait(60)
        records = []
        for number, actions in enumerate(plan):
            if lead:
                round_now.value = number
            time.sleep(gap)  # the viewers read this round's messages first
            rounds.wait(60)
            for kind, ids in actions:
                if kind == "sender":
                    reply = browser.post(f"/sent/{ids}/recall", {"reason": "Sent in error"})
                    ids = [ids]
                else:
                    reply = browser.post("/admin/secure-messaging/recall",
                                         {"message_ids": [str(i) for i in ids],
                                          "reason": "Recalled by the security team"})
                records.append((list(ids), reply.sent, reply.received, reply.status))
        if lead:
            round_now.value = -1
        out.put({"who": who, "records": records})
    except Exception:
        _report_failure(out, who, [start, rounds])
