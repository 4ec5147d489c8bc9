"""Business outcomes: enrolment and refund records, satisfaction surveys, next-course
recommendations and the attribution arithmetic (`attribution`, pure), with their pages at
/business/.
"""
