"""Generated bad input against every form and fragment, as every audience.

What each answer must satisfy is in fuzzing.py; the routes and their fields in
endpoints.py; the data the cases run against in world.py.

Environment:
  PORTAL_FUZZ_EXAMPLES  cases per database, shared out among the endpoint groups
                        (default fuzzing.DEFAULT_EXAMPLES; 10000 for the long run)
  CI=true               the same cases every run (Hypothesis derandomize, no database)
  PORTAL_FUZZ_ONLY      comma-separated endpoint names: fuzz only those
  PORTAL_FUZZ_TRACE     print every case and its status (with `pytest -s`)
  PORTAL_FUZZ_VERBOSE   the terminal summary breaks the statuses down by endpoint
The terminal summary (and `pytest -s`, per group) says how many cases ran and
how they were answered.
"""
import pytest
from hypothesis import given

from portal import create_app
from tests.robustness.endpoints import ENDPOINTS, GROUPS, NOT_FUZZED
from tests.robustness.fuzzing import (
    Fuzzer,
    cases,
    endpoints_of,
    examples_for,
    hypothesis_settings,
)


def test_every_route_is_fuzzed():
    """Walks the url_map of an app with every blueprint: each rule is described in
    ENDPOINTS (with the methods it serves) or listed in NOT_FUZZED with a reason."""
    app = create_app("test", overrides={"DEV_MAILBOX": True})
    described = {(e.endpoint, e.rule): e for e in ENDPOINTS}
    served = set()
    for rule in app.url_map.iter_rules():
        key = (rule.endpoint, rule.rule)
        served.add(key)
        if rule.endpoint in NOT_FUZZED:
            assert NOT_FUZZED[rule.endpoint].strip(), f"{rule.endpoint} needs a reason"
            continue
        assert key in described, f"{rule.endpoint} {rule.rule} is not fuzzed: add it to ENDPOINTS"
        methods = set(rule.methods) - {"OPTIONS"}
        if "HEAD" not in described[key].methods:
            methods.discard("HEAD")  # Flask adds HEAD to every GET
        assert methods == set(described[key].methods), (rule.endpoint, methods)
        assert described[key].group in GROUPS
    assert set(described) <= served, f"described but not served: {set(described) - served}"


@pytest.mark.parametrize("group", GROUPS)
def test_generated_input(world, group):
    if not endpoints_of(group):
        pytest.skip("PORTAL_FUZZ_ONLY leaves this group no endpoint")
    with Fuzzer(world, group) as fuzzer:
        @hypothesis_settings(examples_for(group))
        @given(cases(world, group))
        def answer_is_sound(case):
            fuzzer.run(case)

        answer_is_sound()
    print(f"\n{fuzzer.tally.line(f'{world.backend} {group}')}")
    assert fuzzer.tally.cases, "no case ran"

