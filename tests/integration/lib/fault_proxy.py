"""A TCP proxy that breaks a real legacy server's stream on purpose.

The worker (or `doveadm mailmove run`) connects to the proxy with TLS
(imaps://, pop3s://); the proxy terminates TLS with the legacy instance's
certificate, so the product verifies it exactly as it verifies the legacy
server, and talks plain IMAP/POP3 to the legacy Dovecot behind it. Between
the two it hands the bytes to a Fault, which may pass, change, delay,
inject or cut them:

    proxy = FaultProxy(legacy.ports["imap"], legacy.cert_path, legacy.key_path)
    proxy.start()
    proxy.fault = CloseAt(rb"BODY\\[\\] \\{\\d+\\}\\r\\n", 100)   # mid-literal
    ...                                            # run the move
    proxy.fault = None                             # a clean pass-through

The fault applies to connections accepted while it is set; with no fault
the proxy forwards every byte unchanged (the same address, so the
product's identity of the legacy server does not change between runs).
Only the standard library; one thread per connection, which serves both
directions (an ssl.SSLSocket must not be read and written by two threads).
"""

import re
import select
import socket
import ssl
import struct
import threading
import time

from . import procs


class Session:
    """One client connection and its upstream connection."""

    def __init__(self, client, upstream):
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()
        self.stalled = False
        self.server_bytes = 0   # bytes of the server's stream seen so far
        self.sent_to_client = 0
        self.seen = bytearray()  # the server's stream, for pattern matching
        self.lock = threading.Lock()

    def to_client(self, data):
        if data and not self.closed.is_set() and not self.stalled:
            self.client.sendall(data)
            self.sent_to_client += len(data)

    def to_server(self, data):
        if data and not self.closed.is_set():
            self.upstream.sendall(data)

    def close(self):
        """Close both sides: the client sees EOF (without TLS close_notify)."""
        self._end(shutdown=True)

    def reset(self):
        """Abort the client connection with a TCP RST."""
        try:
            self.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        # A shutdown would send a FIN before the RST.
        self._end(shutdown=False)

    def _end(self, shutdown):
        with self.lock:
            if self.closed.is_set():
                return
            self.closed.set()
        for sock in (self.client, self.upstream):
            try:
                if shutdown:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass

    def stall(self):
        """Send nothing more, keep the connection open until the client
        gives up (its EOF closes the session) or the proxy stops."""
        self.stalled = True


class Fault:
    """Passes everything; subclasses override server() and client().

    server(session, data) gets each piece of the legacy server's stream
    (session.seen already holds it) and sends what the client gets;
    client(session, data) does the same for the client's commands.
    """

    def server(self, session, data):
        session.to_client(data)

    def client(self, session, data):
        session.to_server(data)


def _position(session, pattern, start=0):
    """Offset in the server's stream just after pattern's first match, or None."""
    match = re.compile(pattern).search(bytes(session.seen), start)
    return match.end() if match else None


class AtPattern(Fault):
    """Forwards the server's stream up to `offset` bytes after the first
    match of `pattern` (a regex over the stream; offset may be negative),
    then calls act(session) once; before the match, or with every byte
    once acted, it forwards as usual. `skip` matches are passed over first
    (e.g. the second FETCH response)."""

    def __init__(self, pattern, offset=0, skip=0):
        self.pattern = pattern
        self.offset = offset
        self.skip = skip
        self.acted = False

    def cut_point(self, session):
        start = 0
        for _ in range(self.skip):
            end = _position(session, self.pattern, start)
            if end is None:
                return None
            start = end
        end = _position(session, self.pattern, start)
        return None if end is None else end + self.offset

    def server(self, session, data):
        if self.acted:
            session.to_client(data)
            return
        cut = self.cut_point(session)
        if cut is None or cut > session.server_bytes:
            session.to_client(data)
            return
        before = len(data) - (session.server_bytes - cut)
        session.to_client(data[:max(before, 0)])
        self.acted = True
        self.act(session, data[max(before, 0):])

    def act(self, session, rest):
        raise NotImplementedError


class CloseAt(AtPattern):
    """Closes (or resets, how="reset") the connection at the point."""

    def __init__(self, pattern, offset=0, how="close", skip=0):
        super().__init__(pattern, offset, skip)
        self.how = how

    def act(self, session, rest):
        if self.how == "reset":
            session.reset()
        else:
            session.close()


class CloseAfter(CloseAt):
    """Closes or resets after the first n bytes of the server's stream."""

    def __init__(self, n, how="close"):
        super().__init__(rb"\A", n, how)


class InjectAt(AtPattern):
    """Sends `payload` (bytes, or a function returning an iterable of
    pieces, for floods) at the point, then goes on with `then`: "continue"
    (the rest of the stream follows), "close" or "stall"."""

    def __init__(self, pattern, payload, offset=0, then="continue", skip=0):
        super().__init__(pattern, offset, skip)
        self.payload = payload
        self.then = then
        self.injected = 0

    def act(self, session, rest):
        pieces = self.payload() if callable(self.payload) else [self.payload]
        try:
            for piece in pieces:
                session.to_client(piece)
                self.injected += len(piece)
        except OSError:
            session.close()  # the client gave up reading: the end we want
            return
        if self.then == "close":
            session.close()
        elif self.then == "stall":
            session.stall()
        else:
            session.to_client(rest)


class StallAt(AtPattern):
    """Stops sending at the point; the connection stays open."""

    def act(self, session, rest):
        session.stall()


class Trickle(Fault):
    """Every byte of the server arrives, in pieces of 1..`piece` bytes
    with a pause between them: the product must cope with any split."""

    def __init__(self, piece=7, pause=0.0005):
        self.piece = piece
        self.pause = pause
        self.count = 0

    def server(self, session, data):
        at = 0
        while at < len(data):
            size = 1 + (self.count * 5 + at) % self.piece
            self.count += 1
            session.to_client(data[at:at + size])
            at += size
            time.sleep(self.pause)


class Rewrite(Fault):
    """Rewrites whole lines: server lines with server_subs, client lines
    with client_subs, each a list of (regex, replacement or function[,
    how many times in all, 0 = always]). A line is held until its LF
    arrives, so a match never straddles two reads; inner gets the result."""

    def __init__(self, server_subs=(), client_subs=(), inner=None):
        self.server_subs = [self._sub(*sub) for sub in server_subs]
        self.client_subs = [self._sub(*sub) for sub in client_subs]
        self.inner = inner or Fault()
        self.pending = {"server": b"", "client": b""}
        self.rewritten = 0

    @staticmethod
    def _sub(pattern, replacement, times=0):
        return [re.compile(pattern), replacement, times]

    def _lines(self, side, data, subs):
        held = self.pending[side] + data
        end = held.rfind(b"\n") + 1
        self.pending[side] = held[end:]
        out = held[:end]
        for sub in subs:
            regex, replacement, left = sub
            if left < 0:
                continue
            out, n = regex.subn(replacement, out, count=max(left, 0))
            self.rewritten += n
            if left > 0:
                sub[2] = left - n if left - n > 0 else -1
        return out

    def server(self, session, data):
        self.inner.server(session, self._lines("server", data, self.server_subs))

    def client(self, session, data):
        self.inner.client(session, self._lines("client", data, self.client_subs))


class FaultProxy:
    """Listens on a free port of 127.0.0.1 with TLS; see the module doc."""

    def __init__(self, upstream_port, cert_path, key_path):
        self.upstream_port = upstream_port
        self.port = procs.free_port()
        self.fault = None
        self.sessions = []
        self.cert_path = cert_path
        self.key_path = key_path
        self.context = None
        self.listener = None
        self.stopping = threading.Event()
        self.connections = 0

    def start(self):
        """Call after the legacy instance made its certificate."""
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.cert_path, self.key_path)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def url(self, scheme):
        return "%s://127.0.0.1:%d" % (scheme, self.port)

    def stop(self):
        self.stopping.set()
        if self.listener is not None:
            self.listener.close()
        for session in self.sessions:
            session.close()

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw, self.fault), daemon=True).start()

    def _serve(self, raw, fault):
        fault = fault or Fault()
        try:
            raw.settimeout(30)
            client = self.context.wrap_socket(raw, server_side=True)
            client.settimeout(None)
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            upstream.settimeout(None)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        self.connections += 1
        session = Session(client, upstream)
        self.sessions.append(session)
        try:
            self._pump(session, fault)
        except (OSError, ValueError, ssl.SSLError):
            pass
        session.close()

    @staticmethod
    def _pump(session, fault):
        """Moves bytes both ways until either side closes (a stalled
        session still reads, and drops, what the server sends)."""
        client, upstream = session.client, session.upstream
        while not session.closed.is_set():
            ready = [client] if client.pending() else select.select(
                [client, upstream], [], [], 0.5)[0]
            if client in ready:
                client.settimeout(10)  # a TLS record may come in pieces
                data = client.recv(65536)
                if not data:
                    return
                if not session.stalled:
                    fault.client(session, data)
            if upstream in ready:
                data = upstream.recv(65536)
                if not data:
                    return
                session.server_bytes += len(data)
                if len(session.seen) < 16 * 1024 * 1024:
                    session.seen += data
                if not session.stalled:
                    fault.server(session, data)
