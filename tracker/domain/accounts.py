"""Account rules shared by the web forms and the command line: how long a password may be."""
from __future__ import annotations

PASSWORD_MIN, PASSWORD_MAX = 8, 128
