"""Protection that is not one page's business: failed-login throttling (`throttle`) and the
security event log (`log`).

Imports only `tracker.core`, `tracker.domain` and `tracker.data`; never services or the web.
"""
