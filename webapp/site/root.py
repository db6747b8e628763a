"""The site's root: what every request's address must be, and the site's icon.

- A path or query string whose percent-escapes are not UTF-8 (``%FF``) is answered 400, naming
  the parameter, before any view reads it (werkzeug would read U+FFFD in their place, and the
  request would be answered as if it had asked for something else).
- ``/favicon.ico``: the site's icon (webapp/static/favicon.ico; pages also name the SVG one).
"""

from __future__ import annotations

from urllib.parse import quote, unquote_to_bytes, urlsplit

from flask import Blueprint, Response, current_app, request, send_from_directory

blueprint = Blueprint("root", __name__)


@blueprint.before_app_request
def _utf8_only() -> Response | None:
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")  # gunicorn's, werkzeug's
    problem = undecodable(_sent_path(raw) if raw else quote(environ.get("PATH_INFO", ""),
                                                             safe="/", encoding="latin-1"),
                          environ.get("QUERY_STRING", ""))
    if problem is None:
        return None
    return Response(f"400 Bad Request. {problem}\n", status=400, mimetype="text/plain")


def undecodable(path: str, query: str) -> str | None:
    """What of a request's address is not UTF-8, said for the client (None: all of it is).
    ``path``: the path as the client sent it (servers decode it, some putting U+FFFD in place
    of what is not UTF-8); ``query``: the raw query string."""
    if not _utf8(path, plus=False):
        return "the path is not UTF-8: its percent-escapes must encode UTF-8 bytes"
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if not _utf8(name):
            return (f"a parameter name ({name!r}) is not UTF-8: percent-escapes must encode "
                    "UTF-8 bytes")
        if not _utf8(value):
            shown = name.replace("+", " ")
            return (f"`{_decoded(shown)}`: its value ({value!r}) is not UTF-8: percent-escapes "
                    "must encode UTF-8 bytes")
    return None


def _sent_path(raw: str) -> str:
    """The path of the request line (an absolute URI's path, if the client sent one)."""
    target = raw.partition("?")[0]
    return urlsplit(target).path if "://" in target else target


def _utf8(text: str, plus: bool = True) -> bool:
    try:
        unquote_to_bytes(text.replace("+", " ") if plus else text).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decoded(text: str) -> str:
    return unquote_to_bytes(text).decode("utf-8")


@blueprint.get("/favicon.ico")
def favicon() -> Response:
    """The site's icon."""
    return send_from_directory(current_app.static_folder or "static", "favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=86400)
