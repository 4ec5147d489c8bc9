"""Reports: compliance (HTML, CSV, XLSX, PDF), the HR roster import that feeds its attributes,
and the audit export. `compliance` is pure; `selectors` read, scoped to the launch; `views`
and `urls` are mounted at /reports/.
"""
