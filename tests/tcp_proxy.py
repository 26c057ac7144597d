"""A TCP forwarder in the test process, to make a shared server (PostgreSQL, Redis) "go away" for one
app without stopping it for anyone else: the app connects to the proxy's port on 127.0.0.1; `cut()`
closes the listener and every forwarded connection (new connections are refused), `restore()` listens
again on the same port."""
from __future__ import annotations

import socket
import threading


class Proxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.listener: socket.socket | None = None
        self.port = 0
        self.restore()

    def __enter__(self) -> "Proxy":
        return self

    def __exit__(self, *exc) -> None:
        self.cut()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.05)  # so the accept loop notices a cut quickly
        self.port = listener.getsockname()[1]
        with self.lock:
            self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            listener, self.listener = self.listener, None
            connections, self.connections = self.connections, set()
        if listener is not None:
            listener.close()
        for connection in connections:
            _close(connection)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            with self.lock:
                if self.listener is not listener:
                    return
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self.lock:
                if self.listener is not listener:  # cut while this one was being connected
                    _close(client)
                    _close(upstream)
                    return
                self.connections.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(sink)
        with self.lock:
            self.connections.discard(source)
            self.connections.discard(sink)


def _close(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    connection.close()
