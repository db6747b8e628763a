"""Whether the IRIs the app serves resolve where it answers, and what to say when they do not
(``policykg serve`` at its start, ``/healthz`` at each check).

Three things can disagree: the base the store's IRIs are under (recorded at its first load),
the base the settings name, and the address the server answers at. The app serves the store's
IRIs whatever the settings say (its paths are the same under any base), but links in its RDF,
its VoID and its JSON-LD context lead to the store's base: a base that names this machine
(localhost) or the host a request came to must be where the server answers. A base that names
another host is taken to be served by a proxy in front of this server.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"}  # this machine, as a server binds


def same_address(first: str, second: str) -> bool:
    """Whether two roots name the same place: the same host (this machine's names alike), port
    and path; the scheme aside when neither names a port (TLS may end at a proxy)."""
    one, two = urlsplit(first), urlsplit(second)
    ports = (one.port is None and two.port is None) or _port(one) == _port(two)
    return _host(one.hostname) == _host(two.hostname) and one.path == two.path and ports


def base_warnings(stored: str | None, serving: str, configured: str,
                  answering: str | None) -> list[str]:
    """What disagrees, said so that a steward knows what to do: ``stored``, the store's base
    (None: it records none yet); ``serving``, the base the app serves; ``configured``, the
    settings' base; ``answering``, the address the server answers at (None: unknown)."""
    warnings = []
    if stored is not None and stored != serving:
        warnings.append(f"the store's IRIs are now under {stored}, but this server serves "
                        f"them under {serving}: restart the server")
    base = stored or serving
    if base != configured:
        warnings.append(
            f"the store's IRIs are under {base} (recorded at its first load), not under the "
            f"configured base {configured}: this server serves them as they are; to move "
            f"them under {configured}, stop the servers and run `policykg rebase "
            f"{configured}`, else set base to {base}")
    if answering and _names_here(base, answering) and not same_address(base, answering):
        warnings.append(
            f"the IRIs are under {base}, but this server answers at {answering}: links in its "
            f"RDF lead to {base}. Serve {base} here, or move the IRIs with `policykg rebase "
            f"{answering}`")
    return warnings


def _names_here(base: str, answering: str) -> bool:
    """Whether the base names this machine, or the host the server answers at."""
    host = _host(urlsplit(base).hostname)
    return host == "localhost" or host == _host(urlsplit(answering).hostname)


def _host(name: str | None) -> str:
    return "localhost" if name in LOOPBACK else (name or "")


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)
