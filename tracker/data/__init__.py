"""What is stored and how we talk to the engine: the tables (`models`) and the connection set-up
and write transactions (`database`).

Imports only `tracker.core` and `tracker.domain`; never reports, services or the web.
"""
