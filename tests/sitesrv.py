"""Serve a folder over HTTP on a random loopback port in a child process (for end-to-end tests).

`{BASE}` placeholders in the files are replaced, as bytes, by the server's origin.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

SERVER = r'''
import functools, http.server, socketserver, sys, threading
root, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out, lock = open(log, "a", buffering=1), threading.Lock()
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"      # persistent connections, as real web servers keep them
    disable_nagle_algorithm = True     # headers and body go out without waiting for an ACK
    def log_message(self, fmt, *args):
        with lock:
            out.write("%s %s\n" % (self.command, self.path))
    def log_request(self, code="-", size="-"):
        with lock:
            out.write("%s %s %s\n" % (self.command, self.path, code))
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver listens with a backlog of 5: a crawler opening 16 connections at once lost
    # SYNs and waited half a second for each retransmission (nginx listens with 511)
    request_queue_size = 128
Server(("127.0.0.1", port), functools.partial(Handler, directory=root)).serve_forever()
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def materialise(src: Path, dst: Path, origin: str) -> Path:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    for f in dst.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            if b"{BASE}" in data:
                f.write_bytes(data.replace(b"{BASE}", origin.encode()))
    return dst


def wait_listening(proc: subprocess.Popen[bytes], port: int, what: str, timeout: float = 10) -> None:
    """Wait until a server child accepts connections on `port`; RuntimeError (with its stderr,
    when it was captured) if it exits or never listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"{what} exited at start:\n{err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} on port {port} did not start")


def eval_config(eval_dir: Path, dest: Path, origin: str) -> Path:
    """The eval set's configuration with `{BASE}` replaced by `origin`, written to dest."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in (eval_dir / "config").glob("*.toml"):
        (dest / f.name).write_text(f.read_text(encoding="utf-8").replace("{BASE}", origin), encoding="utf-8")
    return dest


class SiteServer:
    def __init__(self, root: Path, port: int | None = None, log: Path | None = None) -> None:
        self.root = root
        self.port = port or free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.log = log or root.parent / f"access-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SiteServer:
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, str(self.root), str(self.port),
                                      str(self.log)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(self.proc, self.port, "the test web server")
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def requests(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []
