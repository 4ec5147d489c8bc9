"""Calls to a platform's LTI Advantage services: the HTTP client for NRPS and AGS (`client`,
the only place that makes them) and the roster sync over NRPS (`roster`).
"""
