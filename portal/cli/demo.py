"""`flask demo load`: the demo accounts and messages, for development only."""
import click
from flask import current_app
from flask.cli import AppGroup

from ..demo.data import load_demo_data
from ..extensions import db

demo = AppGroup("demo", help="Demo data.")


@demo.command("load")
def demo_load():
    """Fill an empty database with the demo accounts and messages (safe to repeat)."""
    if current_app.config["ENV_NAME"] == "production":
        # Every demo account shares one published password.
        raise click.ClickException(
            "flask demo load does not run with the production configuration: the demo "
            "accounts share a published password. Load demo data into a development "
            "database: PORTAL_CONFIG=development flask demo load (make demo does this).")
    report = load_demo_data()
    if report["messages"]:
        click.echo(f"Demo data loaded: {report['accounts']} accounts, "
                   f"{report['messages']} secure messages.")
    else:
        click.echo(f"Demo accounts checked ({report['accounts']}); "
                   f"{report.get('skipped', 'nothing to add')}.")
    db.session.remove()
