"""A local copy of the pinned htmx release, for browser tests on a machine with no CDN.

It comes from the npm registry's `htmx.org` package of the same version, so
the `integrity` attribute in the page is checked against the real file.
"""
from portal.web.htmx import HTMX_VERSION

from .npm_copy import npm_file


def local_htmx():
    return npm_file("htmx.org", HTMX_VERSION, "dist/htmx.min.js")
