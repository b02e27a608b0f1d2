"""Commands run against a real DNS server (dnsmasq) in a private network
and mount namespace, so the system resolver of the commands (libresolv,
/etc/resolv.conf) asks our server and nothing leaves the machine.

    results = dns_namespace.run(workdir, DNSMASQ_LINES, [argv, argv, ...])

starts `unshare -m -n` running this file as a script: it brings the
namespace's loopback up, bind-mounts a resolv.conf that names 127.0.0.1
(timeout 1 s, 1 attempt), keeps a UDP "black hole" on 127.0.0.1 that reads
nothing and answers nothing (dnsmasq forwards the names that must time
out to it), starts dnsmasq on 127.0.0.1:53 and runs each command. Each
result: code, stdout, stderr, seconds.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

DNSMASQ = "/usr/sbin/dnsmasq"
# Where dnsmasq forwards the names that must time out (inside the namespace).
BLACK_HOLE_PORT = 5399


def run(workdir, dnsmasq_lines, commands, timeout=300, greeters=()):
    """greeters: (address, port, line) servers in the namespace that send
    line to every connection, then close it (a self-hosted IMAP server's
    greeting, for the candidates of provider detect)."""
    os.makedirs(workdir, exist_ok=True)
    spec_path = os.path.join(workdir, "dns-spec.json")
    with open(spec_path, "w") as f:
        json.dump({"workdir": workdir, "dnsmasq": dnsmasq_lines, "commands": commands,
                   "greeters": list(greeters)}, f)
    proc = subprocess.run(["unshare", "-m", "-n", "--propagation", "private",
                           sys.executable, os.path.abspath(__file__), spec_path],
                          capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError("DNS namespace failed (%d): %s" % (
            proc.returncode, proc.stderr.decode("utf-8", "replace")[-2000:]))
    return json.loads(proc.stdout.decode())


def _query_answers(port):
    """True once something answers a DNS query on 127.0.0.1:port."""
    query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
             b"\x05probe\x04test\x00\x00\x01\x00\x01")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.sendto(query, ("127.0.0.1", port))
            return sock.recv(512)[:2] == b"\x12\x34"
        except OSError:
            return False


def _greet(address, port, line):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(16)

    def serve():
        while True:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(line.encode())

    threading.Thread(target=serve, daemon=True).start()


def _inside(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    workdir = spec["workdir"]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    resolv = os.path.join(workdir, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)
    for address, port, line in spec.get("greeters", []):
        _greet(address, port, line)
    black_hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    black_hole.bind(("127.0.0.1", BLACK_HOLE_PORT))
    conf = os.path.join(workdir, "dnsmasq.conf")
    with open(conf, "w") as f:
        f.write("\n".join(["port=53", "listen-address=127.0.0.1", "bind-interfaces",
                           "no-resolv", "no-hosts", "no-poll", "user=root",
                           "log-queries", "log-facility=" + os.path.join(workdir, "dnsmasq.log")]
                          + spec["dnsmasq"]) + "\n")
    dnsmasq = subprocess.Popen([DNSMASQ, "--keep-in-foreground", "--conf-file=" + conf],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 10
        while not _query_answers(53):
            if dnsmasq.poll() is not None or time.time() > deadline:
                raise RuntimeError("dnsmasq did not start: %s" % dnsmasq.stderr.read().decode())
            time.sleep(0.05)
        results = []
        for argv in spec["commands"]:
            started = time.time()
            proc = subprocess.run(argv, capture_output=True, timeout=120)
            results.append({"code": proc.returncode,
                            "stdout": proc.stdout.decode("utf-8", "replace"),
                            "stderr": proc.stderr.decode("utf-8", "replace"),
                            "seconds": time.time() - started})
        json.dump(results, sys.stdout)
    finally:
        dnsmasq.terminate()
        dnsmasq.wait(timeout=10)
        black_hole.close()


if __name__ == "__main__":
    _inside(sys.argv[1])
