"""What is stored and how we talk to the engine: the tables (`models`), the derived tables kept for
fast reads (`rollups`), and the connection set-up and write transactions (`database`).

Imports only `tracker.core` and `tracker.domain`; never reports, services or the web. Importing the
package registers the rollups' flush listener, so no write through the session can miss them; a
write made with Core statements instead names what it touches to `rollups.kept`.
"""
from tracker.data import rollups  # noqa: F401
