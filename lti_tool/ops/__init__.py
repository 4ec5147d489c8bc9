"""Operating Finishline: liveness and readiness probes, Prometheus metrics, request ids in logs,
and the admin's Health page.

`metrics` and `logs` import nothing of the apps (every app records into them); `health` reads
the foundation's own tables and the queues other apps register with `register_state_counter`
(the outbox, from interventions), so the foundation never imports a leaf app. Entry points:
`urls` (/healthz/, /readyz/, /metrics, /console/health/) and `middleware.RequestIdMiddleware`.
"""
