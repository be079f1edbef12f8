"""A local copy of the pinned htmx release, for browser tests on a machine with no CDN.

It comes from the npm registry's `htmx.org` package of the same version, so
the `integrity` attribute in the page is checked against the real file.
"""
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from portal.web.htmx import HTMX_VERSION

CACHE = Path(__file__).resolve().parents[2] / ".cache" / f"htmx.org-{HTMX_VERSION}"


def local_htmx():
    target = CACHE / "htmx.min.js"
    if target.exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed once to fetch htmx.org for the browser tests")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"htmx.org@{HTMX_VERSION}", "--pack-destination", tmp,
                        "--silent"], check=True, capture_output=True, timeout=180)
        archive = next(Path(tmp).glob("htmx.org-*.tgz"))
        with tarfile.open(archive) as tar:
            member = tar.extractfile("package/dist/htmx.min.js")
            CACHE.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            partial.write_bytes(member.read())
            partial.rename(target)
    return target
