"""Steps a person takes, shared by the browser journeys."""
import re
import time

from portal.demo.data import DEMO_PASSWORD


def sign_in(page, base, email, password=DEMO_PASSWORD):
    page.goto(f"{base}/sign-in")
    fill_sign_in(page, email, password)


def fill_sign_in(page, email, password=DEMO_PASSWORD):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def wait_for(condition, timeout=10.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting")


def link_in(email_message):
    text = email_message.get_body(("plain",)).get_content()
    return re.search(r"https?://\S+/m/\S+", text).group(0)
