"""Loopback servers that misbehave, for tests of time-bounded clients: a black hole that
accepts connections and never sends a byte, or one that sends a greeting and then drips
a byte every 50 ms without ever ending the line (so no single read times out)."""
from __future__ import annotations

import contextlib
import select
import socket
import threading
import time


class Server:
    """A loopback TCP server whose connections get `greeting` and then, every 50 ms, a
    `drip` byte (none: silent). Records when the client hung up."""

    def __init__(self, greeting: bytes = b"", drip: bytes = b""):
        self.greeting, self.drip = greeting, drip
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.hung_up: list[float] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        self.sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            if self.greeting:
                conn.sendall(self.greeting)
            while not self._stop.is_set():
                if select.select([conn], [], [], 0.05)[0]:
                    try:
                        data = conn.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        self.hung_up.append(time.monotonic())
                        return
                elif self.drip:
                    conn.sendall(self.drip)

    def hung_up_by(self, deadline: float, wait: float = 1.0) -> bool:
        """Did a client hang up no later than `deadline` (time.monotonic())? Waits up to
        `wait` seconds for the server's side to notice."""
        until = time.monotonic() + wait
        while not self.hung_up and time.monotonic() < until:
            time.sleep(0.01)
        return bool(self.hung_up) and self.hung_up[0] <= deadline

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2)
        self.sock.close()


@contextlib.contextmanager
def serving(**kwargs):
    server = Server(**kwargs)
    try:
        yield server
    finally:
        server.close()
