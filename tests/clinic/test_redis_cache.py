"""The shared cache's backend (clinic.redis_cache): Django's Redis cache, one client object per connection pool."""

from django.core.cache import caches

from clinic.redis_cache import KeptClientRedisCache


def test_the_shared_cache_keeps_one_client_and_still_reads_what_was_written():
    cache = caches["default"]
    assert isinstance(cache, KeptClientRedisCache)
    client = cache._cache.get_client()
    cache.set("kept-client-check", {"answer": 42})
    assert cache.get("kept-client-check") == {"answer": 42}
    cache.delete("kept-client-check")
    assert cache.get("kept-client-check") is None
    # Reads and writes share the client while there is one server (Django builds a new one each call).
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client() is client
