"""The `flask --app wsgi ...` commands listed in the README: thin shells over services and reports.

Imports services, reports, domain and core; never the web.
"""
