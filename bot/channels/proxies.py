"""The environment's HTTP proxy for an address, looked up once by the caller.

Agencies often reach the internet only through a proxy (HTTPS_PROXY,
HTTP_PROXY, NO_PROXY). aiohttp honours those with `trust_env=True`, but then
reads the environment and `~/.netrc` again on every request, which showed up
as several per cent of a busy webhook's CPU. The channels' long-lived sessions
therefore run with `trust_env=False` and pass the proxy this module finds.
"""

from __future__ import annotations

import urllib.parse
import urllib.request


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for `url`'s scheme, or None when there is
    none or NO_PROXY exempts its host (the rules urllib and httpx follow)."""
    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if parts.hostname is None or urllib.request.proxy_bypass_environment(parts.hostname, proxies):
        return None
    return proxies.get(parts.scheme)
