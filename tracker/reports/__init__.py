"""Read-only numbers: the filters of a report (`scope`), the SQL that groups the rows (`queries`),
the maths on those groups (`metrics`), the figures (`charts`) and spreadsheet-safe CSV cells
(`csvfiles`).

Never writes. Imports only `tracker.core`, `tracker.domain` and `tracker.data`.
"""
