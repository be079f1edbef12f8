"""Fixtures for the generated-input ring: the fuzzed app and its world, per database."""
import os

import pytest

from portal import create_app
from portal.web.throttling import limiter
from tests.robustness.fuzzing import TALLIES, Tally, examples_per_backend
from tests.robustness.world import build_world, check_the_world
from tests.support.databases import empty_all_tables

_WORLDS = {}


def fuzz_app(database_url):
    """Every blueprint (the development-only Dev mailbox too), and sessions that outlast
    a long run: the cases replay the same session cookies for as long as it takes."""
    return create_app("test", overrides={
        "SQLALCHEMY_DATABASE_URI": database_url, "DEV_MAILBOX": True,
        "SESSION_IDLE_MINUTES": 10**6, "SESSION_IDLE_MINUTES_ADMIN": 10**6,
        "SESSION_LIFETIME_HOURS": 10**5, "SESSION_LIFETIME_HOURS_ADMIN": 10**5})


@pytest.fixture
def world(databases, backend):
    """The world in its snapshot state; afterwards the tables are emptied, as every test
    leaves them."""
    url = databases.url(backend)
    world = _WORLDS.get(url)
    if world is None:
        app = fuzz_app(url)
        try:
            world = _WORLDS[url] = build_world(app, backend)
        except BaseException:
            empty_all_tables(app)  # leave the database as the other tests expect it
            raise
    else:
        world.restore_everything()
        check_the_world(world)
    limiter.reset()
    yield world
    empty_all_tables(world.app)
    limiter.reset()


def pytest_terminal_summary(terminalreporter):
    if not TALLIES:
        return
    terminalreporter.section("generated input (tests/robustness)")
    terminalreporter.write_line(f"PORTAL_FUZZ_EXAMPLES={examples_per_backend()} per database")
    for backend, groups in TALLIES.items():
        total = Tally()
        for group, tally in groups.items():
            terminalreporter.write_line(tally.line(f"  {backend} {group}"))
            if os.environ.get("PORTAL_FUZZ_VERBOSE"):
                for line in tally.endpoint_lines():
                    terminalreporter.write_line(line)
            total.add(tally)
        terminalreporter.write_line(total.line(f"{backend} total"))
