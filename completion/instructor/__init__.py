"""The instructor's pages of a course: the learner table, criteria, status overrides, charts.

Views parse, authorise (`access_*`), call one selector or service of `completion.risk` or
`completion.progress`, and render. Entry point: `urls`, included from `completion.urls`.
"""
