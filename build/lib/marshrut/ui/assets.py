"""The pages' static files: our own (ui/static), the modeler bundle esbuild builds, and the
npm packages' files the pages load as they are (``ui/frontend/vendor.json``, copied into
``ui/static/build/vendor/`` by ``npm run build``: nothing is served from node_modules).

Every URL to a static file carries the file's content hash (``?v=…``, added by
``url_for`` itself), so an answer to such a URL is cached for a year and a changed file gets
a new URL; text files are sent gzip-compressed to browsers that take it (the modeler bundle:
1.7 MB → ~0.5 MB), compressed once per process.
"""

import gzip
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, request, send_from_directory

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "build" / "vendor"
VENDOR_FILES = frozenset(json.loads((Path(__file__).resolve().parent / "frontend" / "vendor.json").read_text())["files"])
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
YEAR = 365 * 24 * 3600

vendor = Blueprint("vendor", __name__)


@vendor.route("/vendor/<path:path>")
def asset(path: str):
    """A file of an npm package the pages use (only those listed in vendor.json)."""
    if path not in VENDOR_FILES:
        abort(404)
    return send_from_directory(VENDOR, path)


def _file_of(endpoint: str, values: dict[str, Any]) -> Path | None:
    if endpoint == "ui.static":
        return STATIC / values.get("filename", "")
    if endpoint == "vendor.asset" and values.get("path") in VENDOR_FILES:
        return VENDOR / values["path"]
    return None


@lru_cache(maxsize=256)
def _content_hash(path: Path, modified: float) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def content_version(file: Path) -> str | None:
    try:
        return _content_hash(file, file.stat().st_mtime)
    except OSError:
        return None


def _add_version(endpoint: str, values: dict[str, Any]) -> None:
    """``url_for`` of a static file gets ``v=<content hash>``."""
    file = _file_of(endpoint, values)
    if file is not None and "v" not in values:
        version = content_version(file)
        if version:
            values["v"] = version


@lru_cache(maxsize=64)
def _gzipped(path: Path, modified: float) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)


def _cache_and_compress(response: Response) -> Response:
    endpoint = request.endpoint or ""
    if endpoint not in ("ui.static", "vendor.asset") or response.status_code != 200:
        return response
    file = _file_of(endpoint, request.view_args or {})
    if file is None or not file.is_file():
        return response
    if request.args.get("v") and request.args.get("v") == content_version(file):
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Accept-Encoding")
    if "gzip" in request.headers.get("Accept-Encoding", "") and (response.mimetype or "").startswith(COMPRESSIBLE):
        body = _gzipped(file, file.stat().st_mtime)
        if hasattr(response.response, "close"):
            response.response.close()  # the file Flask opened to send as it is
        response.direct_passthrough = False
        response.set_data(body)
        etag, _weak = response.get_etag()
        if etag:
            response.set_etag(f"{etag}-gz")
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Content-Length"] = str(len(body))
    return response


def register(app: Flask) -> None:
    app.register_blueprint(vendor)
    app.url_defaults(_add_version)
    app.after_request(_cache_and_compress)
