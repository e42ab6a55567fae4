"""Sessions (settings SESSION_ENGINE): Django's cached_db sessions, whose read from the shared cache also fetches the
clinic policy (clinic.policies) in the same round trip.

Every signed-in page reads both from Redis: the session to know who asks, the policy for the clinic's name, theme
and crisis text. One ``MGET`` instead of two ``GET``s saves a round trip a page; the policy read is as fresh as
the page's own read would have been (the same request, a few milliseconds earlier).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache.backends.base import BaseCache

from clinic import policies


class SessionStore(cached_db.SessionStore):
    _cache: BaseCache  # cached_db's, which django-stubs does not declare
    # The saved policy values read with the session: None if not read (no session cookie) or not cached.
    policies_read: dict[str, Any] | None = None

    def load(self) -> dict[str, Any]:
        if settings.SESSION_CACHE_ALIAS != "default":  # the policy lives in the default cache
            return super().load()
        session_key, policy_key = self.cache_key, policies.cache_key()
        try:
            found = self._cache.get_many([session_key, policy_key])
        except Exception:
            # As cached_db: a key the backend refuses means no session (reread below from the database).
            found = {}
        self.policies_read = found.get(policy_key)
        data = found.get(session_key)
        # Not in the cache: cached_db's own read, from the database, which also caches it.
        return data if data is not None else super().load()
