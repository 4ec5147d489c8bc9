"""Did interventions work: whether a learner came back after a step (`outcomes`) and A/B tests
of steps with their deterministic assignment and analysis (`experiments`, pure).
"""
