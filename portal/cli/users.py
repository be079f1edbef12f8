"""`flask users add`: internal senders and administrators."""
import click
from flask.cli import AppGroup

from ..core.request_info import NO_REQUEST
from ..identity.users import AccountError, create_internal_user

users = AppGroup("users", help="Internal accounts.")


@users.command("add")
@click.argument("email")
@click.option("--admin-role", type=click.Choice(["read_only", "basic", "full"]),
              help="Make an administrator with this role (default: an internal sender).")
@click.password_option(help="Asked for if not given; at least 12 characters.")
def users_add(email, admin_role, password):
    """Add an internal sender, or an administrator (the first one of a new installation)."""
    try:
        user = create_internal_user(email, password, admin_role=admin_role,
                                    request_info=NO_REQUEST)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    what = user.admin_role.label if user.admin_role else "internal sender"
    click.echo(f"Added {user.email} ({what}).")
