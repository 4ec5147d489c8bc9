"""Instructors' edits to the course's playbooks and message templates: `services` validates and
saves, `views` are the settings pages.
"""
