"""What is done for and about one learner: staff actions (message now, snooze, advisor,
close the loop), the learner's pause and resume, staff's page of one learner, and the course's
advisor cases page by page (`cases`).
"""
