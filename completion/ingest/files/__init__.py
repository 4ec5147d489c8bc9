"""CSV and JSON Lines imports: the documented column set (`rows`, pure) and the streamed,
all-or-nothing loader (`imports`). Entry points: `import_events` and the Django admin.
"""
