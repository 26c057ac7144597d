"""The HTTP side: one blueprint per audience (`auth`, `mentee`, `mentor`, `mentorship`, `ops`,
`api`, `assets`), who may see what (`access`), the forms, and how values read to a person
(`presenters`).

Views are thin: they parse with forms, call a service or a report, and render. They never write
SQL or compute a number; they import services, reports, security, domain and core.
"""
