"""`flask` commands: the same services the web views call."""
import click
from flask import Flask

from .extensions import db


def register_cli(app: Flask):
    @app.cli.group("demo")
    def demo():
        """Demo data."""

    @demo.command("load")
    def demo_load():
        """Fill an empty database with the demo accounts and messages (safe to repeat)."""
        from .demo.loader import load_demo_data

        report = load_demo_data()
        if report["messages"]:
            click.echo(f"Demo data loaded: {report['accounts']} accounts, "
                       f"{report['messages']} secure messages.")
        else:
            click.echo(f"Demo accounts checked ({report['accounts']}); "
                       f"{report.get('skipped', 'nothing to add')}.")
        db.session.remove()
