"""Syncs from a course's platform: the NRPS roster and AGS line items and results, with their
health recorded per course (`sync`), and the django-q2 entry points that run them (`tasks`).
"""
