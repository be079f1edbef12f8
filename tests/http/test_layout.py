"""The base layout: htmx pinned with integrity, navigation per audience, errors."""
import pytest

from portal.web.htmx import HTMX_INTEGRITY, HTMX_URL, HTMX_VERSION


def test_htmx_comes_from_the_pinned_cdn_url_with_integrity(client):
    html = client.get("/sign-in").get_data(as_text=True)
    assert f'<script src="{HTMX_URL}" integrity="{HTMX_INTEGRITY}" crossorigin="anonymous"' in html
    assert f"htmx.org@{HTMX_VERSION}/" in HTMX_URL
    assert HTMX_INTEGRITY.startswith("sha384-")


def test_htmx_sends_the_csrf_token_as_a_header(people, auth, client):
    auth.sign_in("bob@partner.example")
    html = client.get("/inbox").get_data(as_text=True)
    assert "hx-headers='{\"X-CSRFToken\": \"" in html


@pytest.mark.parametrize("email,present,absent", [
    ("full.admin@example.com", ["Email Delivery", "Secure Messaging", "Account", "Audit Logs"],
     [">Inbox<", ">Sent<"]),
    ("alice@example.com", [">Sent<", ">Inbox<"], ["Email Delivery", "Audit Logs"]),
    ("bob@partner.example", [">Inbox<"], [">Sent<", "Email Delivery", "Audit Logs"]),
])
def test_navigation_fits_the_audience(people, auth, client, email, present, absent):
    html = auth.sign_in(email, follow=True).get_data(as_text=True)
    nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    for label in present:
        assert label in nav
    for label in absent:
        assert label not in nav


def test_unknown_page_gets_a_plain_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)


def test_wrong_method_gets_405(client):
    response = client.delete("/sign-in")
    assert response.status_code == 405


@pytest.mark.parametrize("page", ["0", "-3", "abc", "99999"])
def test_odd_page_numbers_do_not_break_lists(people, auth, client, page):
    auth.sign_in("bob@partner.example")
    response = client.get(f"/inbox?page={page}")
    assert response.status_code == 200
    assert "Your Inbox is empty." in response.get_data(as_text=True)
