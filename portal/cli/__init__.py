"""`flask` commands: the same services the web views call, a module per group."""
from flask import Flask

from .audit import audit
from .demo import demo
from .messages import messages
from .outbox import outbox
from .read_status import read_status
from .serve import serve
from .users import users

COMMANDS = (demo, users, audit, messages, outbox, read_status, serve)


def register_cli(app: Flask):
    for command in COMMANDS:
        app.cli.add_command(command)
