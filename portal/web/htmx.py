"""What the server needs to know about htmx requests."""
from flask import current_app, render_template, request
from jinja2_fragments.flask import render_blocks

# Pinned htmx release, loaded from the CDN with Subresource Integrity.
HTMX_VERSION = "2.0.11"
HTMX_URL = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
HTMX_INTEGRITY = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def is_htmx_request():
    return request.headers.get("HX-Request") == "true"



def page_or_block(template, blocks, context, status=200, *, fragment_status=200,
                  fragment_context=None, page_context=None):
    """The whole page, or the blocks htmx asked for by the element it targets.

    `blocks` maps an element id (HX-Target) to the template block that fills it,
    or to several (the rest carry out-of-band swaps); `"*"` stands for any htmx
    request. A boosted request or any other target gets the page. A fragment
    answers `fragment_status` (200 by default: htmx swaps no 4xx answer, so a form
    shown again with its errors must come as 200) and gets `fragment_context` on
    top of `context`; `page_context()` is called for the whole page only, so a
    fragment never builds what it does not show. Vary tells caches apart.
    """
    target = request.headers.get("HX-Target") if is_htmx_request() else None
    names = blocks.get(target, blocks.get("*")) if is_htmx_request() else None
    if names:
        names = [names] if isinstance(names, str) else list(names)
        html = render_blocks(template, names, **context, **(fragment_context or {}))
        response = current_app.make_response((html, fragment_status))
    else:
        page = {**context, **(page_context() if page_context else {})}
        response = current_app.make_response((render_template(template, **page), status))
    response.vary.add("HX-Request")
    return response
