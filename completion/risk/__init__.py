"""The risk engine, in pipeline order: facts -> signals -> rules or model -> scorecard -> storage.

`facts`, `fact_rows` and `snapshot` turn a course's events into per-learner facts; `signals` are
the early-warning checks; `rules` is the transparent model and `model` the trained one;
`scorecard` runs one course's day through them (pure); `scoring` loads and stores (`scoring_pg`
is its PostgreSQL fast path); `evaluation` and `metrics` replay and measure; `synthetic` makes
test cohorts. `selectors`, `services` and `tasks` are its reads, writes and jobs. The engine
never imports the pages that show it (`completion.instructor`, `completion.learner`).
"""
