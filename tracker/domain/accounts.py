"""Account rules shared by the tables, the services, the web forms and the command line: the roles a
person can have and how long a password may be."""
from __future__ import annotations

ROLES = ("mentee", "mentor", "operator")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
