"""Local copies of files from pinned npm packages, for browser tests on a machine
with no CDN.

Each file comes from the npm registry's package of that exact version (`npm pack`
checks the registry's integrity hash), is fetched once and kept under `.cache/`.
"""
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

CACHE = Path(__file__).resolve().parents[2] / ".cache"


def npm_file(package, version, path):
    """`path` inside `package@version` (e.g. "dist/htmx.min.js"), as a local file."""
    target = CACHE / f"{package}-{version}" / Path(path).name
    if target.exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is needed once to fetch {package} for the browser tests")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"{package}@{version}", "--pack-destination", tmp,
                        "--silent"], check=True, capture_output=True, timeout=180)
        archive = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(archive) as tar:
            member = tar.extractfile(f"package/{path}")
            target.parent.mkdir(parents=True, exist_ok=True)
            # Test workers may fetch the same file at once: each writes its own part.
            partial = target.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(member.read())
            partial.rename(target)
    return target
