"""Caliper 1.1 and 1.2: envelopes parsed into events, stored, and Canvas Live Events.

`envelopes` is pure; `store` writes the raw events and their engagement events; `views` is the
endpoint; `canvas_subscriptions` asks Canvas to send Live Events here.
"""
