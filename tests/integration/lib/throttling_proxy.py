"""A legacy IMAP server that throttles like a hosted provider: a proxy in
front of a legacy Dovecot (lib/dialect_proxy.py) that, while `throttling`
is set, answers every UID FETCH of message bodies after the first
`allowed_body_fetches` of a session with `answer`, e.g. Gmail's

    NO [THROTTLED] ...

or Microsoft 365's

    BAD Request is throttled. Suggested Backoff Time: 7200000 milliseconds
"""

from .dialect_proxy import DialectProxy


class ThrottlingProxy(DialectProxy):
    def __init__(self, upstream_port, answer, allowed_body_fetches=1):
        super().__init__(upstream_port)
        self.answer_text = answer
        self.allowed_body_fetches = allowed_body_fetches
        self.throttling = True

    def answer(self, session, name, line):
        if name != "UID" or b"BODY.PEEK[]" not in line.upper():
            return None
        session.body_fetches = getattr(session, "body_fetches", 0) + 1
        if self.throttling and session.body_fetches > self.allowed_body_fetches:
            return self.answer_text
        return None
