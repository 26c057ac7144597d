"""The `flask --app wsgi ...` commands listed in the README: thin shells over services and reports.

Imports services, reports, security (unlock-account), domain and core; never the web.
"""
