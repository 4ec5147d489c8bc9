"""The LTI 1.3 login and launch and Deep Linking 2.0: the only importers of pylti1p3's launch
classes. `flow` owns the login, state and nonce, id_token checks and the launch; `deep_linking`
returns an instructor's placements.
"""
