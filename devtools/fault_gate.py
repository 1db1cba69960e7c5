"""A TCP gate in front of a receiver, for outage scenes: refuse, blackhole, answer, or pass.

The plugin's WEBHOOK_URL points at the gate, whose port never changes; the gate decides
what a connection meets:
- `refuse`: nothing listens (connection refused);
- `blackhole`: the connection is accepted and never answered (the sender's read times out);
- `status:<code>`: an HTTP answer with that status and no body, the request unread past its
  headers (a receiver in trouble: 503, 429, 400...);
- `pass`: bytes are piped both ways to the real receiver behind it;
- `delay:<seconds>`: the same, after a pause (a slow receiver).
Only 127.0.0.1; every connection is closed when the gate stops.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from types import TracebackType

REFUSE = "refuse"
BLACKHOLE = "blackhole"
FORWARD = "pass"


class FaultGate:
    """Listen on one 127.0.0.1 port and treat each connection by the current mode."""

    def __init__(self, target_port: int, mode: str = FORWARD) -> None:
        self.target_port = target_port
        self.mode = mode
        self.lock = threading.Lock()
        self.port = self._free_port()
        self.listener: socket.socket | None = None
        self.open: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    @staticmethod
    def _free_port() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def set_mode(self, mode: str) -> None:
        """Switch mode; `refuse` closes the listening socket, any other opens it."""
        with self.lock:
            self.mode = mode
            if mode == REFUSE:
                self._close_listener()
            elif self.listener is None:
                self._listen()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        self.listener = listener
        self.thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self.thread.start()

    def _close_listener(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None

    def _accept(self, listener: socket.socket) -> None:
        while not self.stopped.is_set():
            try:
                client, _address = listener.accept()
            except OSError:
                return
            with self.lock:
                mode = self.mode
                self.open.append(client)
            threading.Thread(target=self._serve, args=(client, mode), daemon=True).start()

    def _serve(self, client: socket.socket, mode: str) -> None:
        try:
            if mode == BLACKHOLE:
                self.stopped.wait(120)  # hold it open, say nothing
            elif mode.startswith("status:"):
                client.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    chunk = client.recv(4096)
                    if not chunk:
                        return
                    data = data + chunk
                code = mode.split(":", 1)[1]
                head = f"HTTP/1.1 {code} Gate\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                client.sendall(head.encode())
            else:
                if mode.startswith("delay:"):
                    self.stopped.wait(float(mode.split(":", 1)[1]))
                self._pipe(client)
        except OSError:
            pass
        finally:
            client.close()

    def _pipe(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        try:
            sockets = [client, upstream]
            while not self.stopped.is_set():
                readable, _, _ = select.select(sockets, [], [], 1.0)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)
        finally:
            upstream.close()

    def __enter__(self) -> FaultGate:
        if self.mode != REFUSE:
            self._listen()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stopped.set()
        with self.lock:
            self._close_listener()
            for connection in self.open:
                with contextlib.suppress(OSError):
                    connection.close()
