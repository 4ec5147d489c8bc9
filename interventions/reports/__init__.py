"""The weekly cohort risk report, emailed to each course's instructors and advisors."""
