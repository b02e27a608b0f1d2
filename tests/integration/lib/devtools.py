"""A small Chrome DevTools protocol client (standard library only): a
headless Chromium started on loopback, one page driven over a WebSocket.

Only what the Roundcube test needs: navigate, evaluate JavaScript, wait for
a condition, take screenshots.
"""

import base64
import http.client
import json
import os
import socket
import struct
import subprocess
import tempfile
import time

from lib import procs

CHROMIUM = "/usr/bin/chromium"


class WebSocket:
    """A client WebSocket (RFC 6455) over a plain TCP socket."""

    def __init__(self, host, port, path, timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise OSError("WebSocket handshake: connection closed")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise OSError("WebSocket handshake refused: %r" % head[:200])

    def _recv_exact(self, size):
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise OSError("WebSocket closed")
            data += chunk
        return data

    def send(self, text):
        payload = text.encode()
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def recv(self):
        message = b""
        while True:
            first, second = self._recv_exact(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack(">H", self._recv_exact(2))[0]
            elif size == 127:
                size = struct.unpack(">Q", self._recv_exact(8))[0]
            payload = self._recv_exact(size)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise OSError("WebSocket closed by the browser")
            if opcode in (0x9, 0xA):
                continue
            message += payload
            if first & 0x80:
                return message.decode()

    def close(self):
        self.sock.close()


class Browser:
    """Headless Chromium with one page."""

    def __init__(self, workdir):
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
        self.port = procs.free_port()
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--disable-dev-shm-usage", "--window-size=1280,900",
             "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=%d" % self.port,
             "--user-data-dir=%s" % self.profile, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "chromium.log"), "wb"))
        self.ws = None
        self.next_id = 0
        deadline = time.monotonic() + 30
        while True:
            try:
                pages = self._json("/json/list")
                page = next(p for p in pages if p.get("type") == "page")
                break
            except (OSError, StopIteration, ValueError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.close()
                    raise RuntimeError("Chromium did not start its DevTools endpoint")
                time.sleep(0.2)
        path = page["webSocketDebuggerUrl"].split(str(self.port), 1)[1]
        self.ws = WebSocket("127.0.0.1", self.port, path)
        self.call("Page.enable")
        self.call("Runtime.enable")

    def _json(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def call(self, method, **params):
        self.next_id += 1
        call_id = self.next_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError("JavaScript failed: %s" % result["exceptionDetails"])
        return result["result"].get("value")

    def navigate(self, url):
        self.call("Page.navigate", url=url)
        self.wait("document.readyState == 'complete' && location.href != 'about:blank'", 30)

    def wait(self, expression, timeout=30, what=None):
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.evaluate("!!(%s)" % expression):
                    return
            except RuntimeError:
                pass  # a page being replaced
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s" % (what or expression))
            time.sleep(0.2)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self):
        if self.ws is not None:
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
