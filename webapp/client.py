"""The client's address as the app believes it: the peer, or behind a trusted proxy
(nginx on the same box by default, setting trusted_proxies) the nearest X-Forwarded-For
hop that is not a trusted proxy. Rate limits, sessions and audit records all use this:
behind nginx `request.remote_addr` is the proxy, one address for every user."""
from __future__ import annotations

from flask import current_app, request


def client_address() -> str:
    """Hops further left than the nearest untrusted one are client-supplied and never
    believed."""
    trusted = set(current_app.config["GONGDAN"].trusted_proxies)
    remote = request.remote_addr or ""
    if remote not in trusted:
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if hop not in trusted:
            return hop[:64]
    return remote
