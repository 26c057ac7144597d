"""The rules of a mentorship, as pure functions and constants: its states and time rules
(`lifecycle`), the at-risk rules and success tiers (`health`) and the vocabulary the product speaks
(`vocabulary`: each stored code with its label), and the account rules (`accounts`: roles, password
lengths).

No Flask, no database, no clock: every function takes the moment it is asked about.
Imports nothing else from `tracker`.
"""
