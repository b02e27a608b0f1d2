"""A Coremail-like legacy IMAP server (NetEase 163.com, 126.com, yeah.net,
qiye.163.com): a proxy in front of a legacy Dovecot that greets like
Coremail and refuses SELECT and EXAMINE with

    NO SELECT Unsafe Login. Please contact kefu@188.com for help

unless the client sent ID after logging in, as the real servers do.
Everything else goes to Dovecot unchanged. Each connection's commands
(tag and command name, nothing of the arguments: they hold passwords)
are kept for the scenarios to check the order.
"""

import socket
import threading

from . import procs

GREETING = b"* OK Coremail System IMap Server Ready(163com[20141225])\r\n"
UNSAFE_LOGIN = b"NO SELECT Unsafe Login. Please contact kefu@188.com for help"


class CoremailProxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.port = procs.free_port()
        self.sessions = []  # per connection: list of command names, in order
        self.refusals = 0
        self._listener = None
        self._lock = threading.Lock()

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
        commands = []
        with self._lock:
            self.sessions.append(commands)
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        up_in = upstream.makefile("rb")
        up_in.readline()  # Dovecot's greeting; Coremail's instead
        send_lock = threading.Lock()

        def send(data):
            with send_lock:
                client.sendall(data)

        send(GREETING)
        threading.Thread(target=self._copy, args=(up_in, send, client), daemon=True).start()
        client_in = client.makefile("rb")
        logged_in = id_after_login = False
        continuation = False  # the line goes on after a literal
        try:
            while True:
                line = client_in.readline()
                if not line:
                    break
                words = [] if continuation else line.split(None, 2)
                name = words[1].upper().decode("ascii", "replace") if len(words) > 1 else ""
                if name:
                    commands.append(name)
                if name in ("LOGIN", "AUTHENTICATE"):
                    logged_in = True
                elif name == "ID" and logged_in:
                    id_after_login = True
                elif name in ("SELECT", "EXAMINE") and not id_after_login:
                    with self._lock:
                        self.refusals += 1
                    send(words[0] + b" " + UNSAFE_LOGIN + b"\r\n")
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

    @staticmethod
    def _copy(source, send, client):
        try:
            while True:
                data = source.read1(65536)
                if not data:
                    break
                send(data)
        except OSError:
            pass
        finally:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
