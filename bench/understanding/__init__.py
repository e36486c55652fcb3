"""The understanding evaluation (issue 12): household messages against the real daemon and the demo house.

`bench/understanding.py` is the entry point; this package holds its parts and `cases/*.yaml`.
"""
