"""The learner's own page: progress, what comes next, milestones and pace, and completion's
sections of "my data". Reads only the learner's own rows.
"""
