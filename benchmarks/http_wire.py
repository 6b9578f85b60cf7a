"""A minimal HTTP/1.1 keep-alive client for timing a server, not a client library.

httpx builds a request object, runs its event hooks and decodes the response into objects:
on these 2-core machines that is about 0.6 ms of Python per request, in the measuring process,
on the same cores as the server (measured same run against one server: read by id p50
3.0 ms through httpx, 2.4 ms through this client). Latency targets are the server's, so
``benchmarks/api.py`` times requests with this client (as its load generator always did) and
reports the httpx figures beside them. It sends ``GET`` with the given headers on one socket
(``TCP_NODELAY``) and reads the status line, the headers and a ``Content-Length`` or chunked
body; a connection the server closed while idle (uvicorn: after 5 s) is opened again.
"""

from __future__ import annotations

import socket
from urllib.parse import quote, urlsplit

#: What httpx leaves as it is in a path and query (RFC 3986 sub-delimiters and ``%``: a link
#: the server sent is already encoded).
URL_SAFE = "/?&=:@!$'()*+,;%-._~"


class WireClient:
    """One keep-alive connection to ``host:port``; ``get`` returns (status, body bytes)."""

    def __init__(self, host: str, port: int, headers: dict[str, str], timeout: float = 60) -> None:
        self.address, self.timeout = (host, port), timeout
        self.extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._connect()

    def _connect(self) -> None:
        self.sock = socket.create_connection(self.address, timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def get(self, target: str) -> tuple[int, bytes]:
        """``target`` is a path with its query, or an absolute URL (a ``next`` link)."""
        if "://" in target:
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        target = quote(target, safe=URL_SAFE)  # names with spaces or accents, as httpx sends them
        request = f"GET {target} HTTP/1.1\r\nHost: bench\r\n{self.extra}\r\n".encode()
        try:
            self.sock.sendall(request)
            status_line = self.reader.readline()
        except (ConnectionResetError, BrokenPipeError):
            status_line = b""
        if not status_line:  # an idle keep-alive connection the server closed: once more
            self.close()
            self._connect()
            self.sock.sendall(request)
            status_line = self.reader.readline()
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        return status, self._chunked() if chunked else self.reader.read(length)

    def _chunked(self) -> bytes:
        parts = []
        while (size := int(self.reader.readline().split(b";")[0], 16)) > 0:
            parts.append(self.reader.read(size))
            self.reader.readline()
        while self.reader.readline() not in (b"\r\n", b""):  # trailers
            pass
        return b"".join(parts)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()
