"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""
import asyncio
import email
import email.policy
import threading

from aiosmtpd.controller import Controller

from .ports import free_port


class _Keeper:
    def __init__(self, sink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        with self.sink.lock:
            if self.sink.refusals > 0:
                self.sink.refusals -= 1
                return "451 4.3.0 Try again later"
            self.sink.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 2.0.0 OK"


class SmtpSink:
    def __init__(self, port=None):
        self.port = port or free_port()
        self.messages = []
        self.refusals = 0  # refuse this many emails with a temporary error first
        self.delay = 0  # seconds each email takes to be accepted (a slow server)
        self.lock = threading.Lock()
        self.controller = Controller(_Keeper(self), hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]

    def message_ids(self):
        return [m["Message-ID"] for m in self.messages]
