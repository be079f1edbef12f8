"""What the server needs to know about htmx requests."""
from flask import current_app, render_template, request
from jinja2_fragments.flask import render_block

# Pinned htmx release, loaded from the CDN with Subresource Integrity.
HTMX_VERSION = "2.0.11"
HTMX_URL = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
HTMX_INTEGRITY = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def is_htmx_request():
    return request.headers.get("HX-Request") == "true"



def page_or_block(template, blocks, context, status=200):
    """The whole page, or the one block htmx asked for by the element it targets.

    `blocks` maps an element id (HX-Target) to the template block that fills it;
    a boosted request or any other target gets the page. Vary tells caches apart.
    """
    target = request.headers.get("HX-Target") if is_htmx_request() else None
    if target in blocks:
        response = current_app.make_response(render_block(template, blocks[target], **context))
    else:
        response = current_app.make_response((render_template(template, **context), status))
    response.vary.add("HX-Request")
    return response
