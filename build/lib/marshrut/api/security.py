"""Web security settings of the app: the session key and cookie, CSRF protection of the pages
(Flask-WTF), and the security headers every answer carries.

The API under ``/api/v1`` takes bearer tokens only, so it is exempt from CSRF checks (a
browser never adds a bearer token on its own); every page form and every page fetch that
writes carries the session's CSRF token (``_csrf.html``, ``<meta name="csrf-token">``).
"""

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from marshrut.api import secret
from marshrut.engine.config import Settings

csrf = CSRFProtect()

#: No inline script anywhere: scripts come from this origin's files only. Inline styles stay
#: allowed (bpmn-js and the properties panel set element styles); framing is refused.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

API_PREFIX = "/api/v1/"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Answers that are files of the product (no personal data): these may be cached.
STATIC_ENDPOINTS = frozenset({"static", "ui.static", "vendor.asset", "docs_assets.static"})


def configure(app: Flask, settings: Settings) -> None:
    """Session key and cookie flags, CSRF protection, and the headers of every answer."""
    app.config.update(
        SECRET_KEY=settings.secret_key or secret.load_or_create(settings.var_dir),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        # A token lives as long as its session (which logout revokes), not one hour: a form
        # left open over lunch still submits.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_CHECK_DEFAULT=False,  # protect_pages decides, by path
    )
    csrf.init_app(app)
    app.before_request(protect_pages)
    app.after_request(security_headers)
    if settings.trusted_proxies:
        # Behind a TLS-terminating proxy: the client's address (login throttling) and scheme
        # (Secure cookies, CSRF's HTTPS referrer check) as the proxy saw them.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def protect_pages() -> None:
    """CSRF check of every writing request outside the API (pages, login, logout, page fetches).

    The bearer-only API under ``/api/v1/`` needs no token (a browser sends no bearer token by
    itself); deciding by path, not by a list of blueprints, keeps any blueprint added there exempt.

    :raise CSRFError: no valid token in the form field ``csrf_token`` or the ``X-CSRFToken`` header.
    """
    if request.method in WRITES and not request.path.startswith(API_PREFIX):
        csrf.protect()


def security_headers(response: Response) -> Response:
    """CSP, framing, sniffing and referrer rules on every answer; pages and API answers not cached."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint not in STATIC_ENDPOINTS:
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response
