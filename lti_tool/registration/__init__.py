"""LTI Dynamic Registration 1.0 (`dynamic`), its initiation view and URL."""
