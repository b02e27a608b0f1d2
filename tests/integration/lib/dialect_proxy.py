"""A legacy IMAP server with a provider's dialect: a proxy in front of a
legacy Dovecot that can greet in the provider's words and answer some
commands itself, as the provider does (refusals, throttling). Everything
else goes to Dovecot unchanged. Each connection's commands (tag and
command name, nothing of the arguments: they hold passwords) are kept for
the scenarios to check the order.

Subclasses say what differs: GREETING (None keeps Dovecot's) and
answer(session, name, line), which returns the tagged answer's text
(after the tag) to refuse the command with, or None to pass it on. A
refused command goes to Dovecot as a NOOP with the same tag, whose tagged
answer is replaced by the refusal: answers keep their order even while
earlier pipelined commands stream their literals.
"""

import socket
import threading

from . import procs


class Session:
    """One client connection as the dialect sees it."""

    def __init__(self):
        self.commands = []   # command names, in order
        self.logged_in = False


class DialectProxy:
    GREETING = None

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.port = procs.free_port()
        self.sessions = []  # per connection: list of command names, in order
        self.refusals = 0
        self._listener = None
        self._lock = threading.Lock()

    def answer(self, session, name, line):
        return None

    def start(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def url(self):
        return "imap://127.0.0.1:%d" % self.port

    def _accept(self):
        while self._listener is not None:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        session = Session()
        with self._lock:
            self.sessions.append(session.commands)
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        up_in = upstream.makefile("rb")
        greeting = up_in.readline()
        send_lock = threading.Lock()

        def send(data):
            with send_lock:
                client.sendall(data)

        send(self.GREETING if self.GREETING is not None else greeting)
        replaced = {}  # tag -> the refusal that replaces its tagged answer
        threading.Thread(target=self._copy, args=(up_in, send, client, replaced),
                         daemon=True).start()
        client_in = client.makefile("rb")
        continuation = False  # the line goes on after a literal
        try:
            while True:
                line = client_in.readline()
                if not line:
                    break
                words = [] if continuation else line.split(None, 2)
                name = words[1].upper().decode("ascii", "replace") if len(words) > 1 else ""
                if name:
                    session.commands.append(name)
                if name in ("LOGIN", "AUTHENTICATE"):
                    session.logged_in = True
                refusal = self.answer(session, name, line) if name else None
                if refusal is not None:
                    with self._lock:
                        self.refusals += 1
                        replaced[words[0]] = refusal
                    upstream.sendall(words[0] + b" NOOP\r\n")
                    continue
                upstream.sendall(line)
                # A literal's bytes follow the line as they are.
                stripped = line.rstrip(b"\r\n")
                continuation = stripped.endswith(b"}") and b"{" in stripped
                if continuation:
                    size = int(stripped[stripped.rindex(b"{") + 1:-1].rstrip(b"+"))
                    upstream.sendall(client_in.read(size))
        except (OSError, ValueError):
            pass
        finally:
            for sock in (client, upstream):
                try:
                    sock.close()
                except OSError:
                    pass

    def _copy(self, source, send, client, replaced):
        """Dovecot's answers to the client line by line, literals as they
        are, tagged answers of refused commands replaced."""
        try:
            while True:
                line = source.readline()
                if not line:
                    break
                tag = line.split(None, 1)[0] if line.strip() else b""
                with self._lock:
                    refusal = replaced.pop(tag, None)
                if refusal is not None:
                    send(tag + b" " + refusal + b"\r\n")
                    continue
                stripped = line.rstrip(b"\r\n")
                if stripped.endswith(b"}") and b"{" in stripped:
                    size = int(stripped[stripped.rindex(b"{") + 1:-1].rstrip(b"+"))
                    line += source.read(size)
                send(line)
        except OSError:
            pass
        finally:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
