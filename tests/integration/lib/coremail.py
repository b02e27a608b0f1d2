"""A Coremail-like legacy IMAP server (NetEase 163.com, 126.com, yeah.net,
qiye.163.com): a proxy in front of a legacy Dovecot (lib/dialect_proxy.py)
that greets like Coremail and refuses SELECT and EXAMINE with

    NO SELECT Unsafe Login. Please contact kefu@188.com for help

unless the client sent ID after logging in, as the real servers do.
"""

from .dialect_proxy import DialectProxy

UNSAFE_LOGIN = b"NO SELECT Unsafe Login. Please contact kefu@188.com for help"


class CoremailProxy(DialectProxy):
    GREETING = b"* OK Coremail System IMap Server Ready(163com[20141225])\r\n"

    def answer(self, session, name, line):
        if name == "ID" and session.logged_in:
            session.id_after_login = True
        elif name in ("SELECT", "EXAMINE") and not getattr(session, "id_after_login", False):
            return UNSAFE_LOGIN
        return None
