"""A free TCP port on loopback, for the servers the tests and benchmarks start."""
import socket


def free_port():
    # Bound and released here, then handed to the server: some (aiosmtpd's Controller
    # with port=0) cannot report the port the system chose for them.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
