"""Protection that is not one page's business: failed-login throttling (`throttle`), the Redis link
it uses when REDIS_URL is set (`redis_store`: short timeouts, the key prefix, outages noticed once)
and the security event log (`log`).

Imports only `tracker.core`, `tracker.domain` and `tracker.data`; never services or the web.
"""
