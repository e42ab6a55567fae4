"""Rate limits on every form that takes a password, a two-step code or a secret token, and on the other public pages.

One rule for all of them: settings.RATE_LIMITED_VIEWS names each view with its scope, and RateLimitMiddleware
allows at most PUBLIC_RATE_LIMIT requests to one scope from one address in any PUBLIC_RATE_LIMIT_WINDOW_SECONDS.
A middleware rather than a decorator, so views this project does not write (the admin's sign-in) are held to the
same rule by naming them.

The window slides: each allowed request is a member of a Redis sorted set scored by its time, and a request is
allowed while fewer than the limit are younger than the window. A fixed clock-hour counter would let a burst at the
end of one hour be followed by another at the start of the next, and pause a whole clinic until the hour turns; here
the budget comes back one request at a time, a window after each was made. Refused requests are not recorded, so
the set never holds more than the limit and hammering does not extend the pause.

The address is clinic.audit.client_ip (X-Forwarded-For only through TRUSTED_PROXY_COUNT proxies). An IPv6 client
is counted per /64, the block one customer site is given, since rotating through it costs an attacker nothing.
"""

from __future__ import annotations

import ipaddress
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from django.core.cache import cache as django_cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinic.audit import client_ip

# KEYS[1]: the scope and address's sorted set. ARGV: now, window (seconds), limit, a unique member.
# Returns {1, 0} when allowed (and recorded), {0, seconds until the oldest leaves the window} when refused.
# One script, so that two requests at once cannot both see room for one.
SLIDING_WINDOW = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {0, math.max(1, math.ceil(tonumber(oldest[2]) + window - now))}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return {1, 0}
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds; 0 when allowed


@cache
def _script(redis_url: str):
    return redis.Redis.from_url(redis_url).register_script(SLIDING_WINDOW)


def counted_address(address: str | None) -> str:
    """The address a request is counted under: IPv4 as it is, IPv6 as its /64."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def hit(*, scope: str, address: str | None, now: float | None = None) -> Verdict:
    """Count one request to `scope` from `address`, unless it is over the limit."""
    key = django_cache.make_key(f"throttle:{scope}:{counted_address(address)}")
    now = time.time() if now is None else now
    allowed, retry_after = _script(settings.REDIS_URL)(
        keys=[key],
        args=[
            repr(now),
            settings.PUBLIC_RATE_LIMIT_WINDOW_SECONDS,
            settings.PUBLIC_RATE_LIMIT,
            f"{now!r}:{secrets.token_hex(4)}",
        ],
    )
    return Verdict(allowed=bool(allowed), retry_after=int(retry_after))


class RateLimitMiddleware:
    """Answer 429 (with Retry-After) to a request over its scope's limit, before the view or the CSRF check runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        match = request.resolver_match
        rule = settings.RATE_LIMITED_VIEWS.get(match.view_name) if match is not None else None
        if rule is None:
            return None
        scope, methods = rule
        if request.method not in methods:
            return None
        verdict = hit(scope=scope, address=client_ip(request))
        if verdict.allowed:
            return None
        minutes = math.ceil(verdict.retry_after / 60)
        response = render(request, "clinic/rate_limited.html", {"retry_minutes": minutes}, status=429)
        response["Retry-After"] = str(verdict.retry_after)
        return response
