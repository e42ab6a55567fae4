"""The shared cache (settings CACHES "default"): Django's Redis backend, with one client object per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around the same pool on every cache call, and
every page makes at least one (the clinic policy): building it cost more than the call's round trip. A client holds
no connection of its own (it takes one from the pool per command, which is thread-safe), so one per pool serves
every call of the process alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _KeptClientRedisCacheClient(RedisCacheClient):
    # Django's own attributes, which django-stubs does not declare.
    _client: Any
    _get_connection_pool: Callable[[bool], Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}  # by id() of the pool, which Django keeps for the process

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # the pool Django's get_client would use
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class KeptClientRedisCache(RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _KeptClientRedisCacheClient
