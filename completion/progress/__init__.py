"""What "complete" means for a course and where a learner should be by now. Pure.

`criteria` owns a course's completion criteria and a learner's status against them;
`criteria_check` whether criteria may be saved (the one place they are judged); `pace` owns
the course timeline as it applies to one learner. No ORM, no clock: callers pass both in.
"""
