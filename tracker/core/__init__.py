"""Plumbing every layer may use: settings from the environment (`config`), the one wall clock
(`clock`) and the bare Flask extension objects (`extensions`).

Imports nothing else from `tracker`.
"""
