"""The institution admin console at /console/: sync health, the job queue, keys, credentials
and retention of one deployment. `operations` reads and performs its writes; `views` and
`urls` are the pages.
"""
