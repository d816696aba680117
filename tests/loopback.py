"""The project's host names resolve to 127.0.0.1 inside the test process, so
no /etc/hosts edit is needed (the tests' one way of doing it)."""

import contextlib
import socket


@contextlib.contextmanager
def names_to_loopback(names, address="127.0.0.1"):
    """Also for any other address: a swarm node's, in tests/swarm."""
    names = {name.lower() for name in names}
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        return real(address if isinstance(host, str) and host.lower() in names else host, *args, **kwargs)

    socket.getaddrinfo = resolve
    try:
        yield
    finally:
        socket.getaddrinfo = real
