"""Records that must hold for years, and people's rights over them: the hash-chained audit
trail (`trail`), "my data" (`privacy`) and retention with its purge (`retention`).
"""
