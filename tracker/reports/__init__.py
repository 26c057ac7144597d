"""Read-only numbers: the filters of a report (`scope`), the SQL that groups the rows (`queries`),
the maths on those groups (`metrics`), the figures (`charts`), spreadsheet-safe CSV cells
(`csvfiles`) and the history CSV export (`history_export`, in the format of `history_format`).

Never writes to the database. Imports only `tracker.core`, `tracker.domain` and `tracker.data`.
"""
