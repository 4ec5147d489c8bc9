"""Getting messages to people: the transactional outbox, the channels (email, SMS, chat),
the staff digest, contact preferences and the words of every message (`messages`).
"""
