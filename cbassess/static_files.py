"""Static files with content-hashed names, cached for a year, served compressed by WhiteNoise.

A slow line pays for every byte and every round trip. Each file under static/ is copied
once into the instance folder under a name that carries a hash of its content
(`app.3f9c1a2b4d5e.css`), beside gzip and Brotli copies of the text files; `url_for('static',
…)` hands out those names, and WhiteNoise, in front of the app, serves them with
`Cache-Control: immutable` for a year and the smallest encoding the browser accepts. A
changed file gets a new name, so a browser never keeps a stale one, and a repeat visit asks
for no static file at all. No reverse proxy is needed for any of it.

Nothing here imports Flask; `__init__.py` wires it in.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import brotli
from whitenoise import WhiteNoise

HASH_LENGTH = 12
ONE_YEAR = 365 * 24 * 3600
# Text that browsers fetch; fonts are read from disk by the PDF renderer only.
COMPRESSIBLE = frozenset({".css", ".js", ".svg", ".txt", ".json", ".html"})


def hashed_name(relative: str, content: bytes) -> str:
    """`app.css` with content C -> `app.<first 12 hex of sha256(C)>.css`."""
    path = Path(relative)
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    return path.with_name(f"{path.stem}.{digest}{path.suffix}").as_posix()


def is_hashed(name: str) -> bool:
    """Whether a served file name carries a content hash (and so may be cached for good)."""
    parts = Path(name).name.split(".")
    return len(parts) >= 3 and len(parts[-2]) == HASH_LENGTH and all(
        c in "0123456789abcdef" for c in parts[-2])


@lru_cache(maxsize=64)
def _compressed(content: bytes) -> tuple[bytes, bytes]:
    """gzip and Brotli at their best settings: done once per file per process."""
    return (gzip.compress(content, compresslevel=9, mtime=0),
            brotli.compress(content, quality=11))


def _write_once(path: Path, content: bytes) -> None:
    """Write a file under a name that only ever holds this content; atomic, so processes
    building the same folder at once never see half a file."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".building-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def build(source: Path, target: Path) -> dict[str, str]:
    """Copy every file of `source` into `target` under its hashed name, with compressed
    copies of text files; return the manifest {name: hashed name}."""
    manifest = {}
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = path.relative_to(source).as_posix()
        content = path.read_bytes()
        name = hashed_name(relative, content)
        manifest[relative] = name
        _write_once(target / name, content)
        if path.suffix in COMPRESSIBLE:
            gzipped, brotlied = _compressed(content)
            # WhiteNoise serves a variant only when it is smaller; keep only those.
            if len(gzipped) < len(content):
                _write_once(target / f"{name}.gz", gzipped)
            if len(brotlied) < len(content):
                _write_once(target / f"{name}.br", brotlied)
    return manifest


def serve(wsgi_app, root: Path, prefix: str, add_headers: Callable) -> WhiteNoise:
    """WhiteNoise over the built folder: hashed names cached for a year as immutable."""
    return WhiteNoise(
        wsgi_app, root=str(root), prefix=prefix, max_age=ONE_YEAR,
        immutable_file_test=lambda path, url: is_hashed(url),
        add_headers_function=lambda headers, path, url: add_headers(headers),
    )
