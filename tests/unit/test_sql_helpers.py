"""The set-based SQL helpers, on both databases."""
from sqlalchemy import select

from portal.extensions import db
from portal.models import User
from portal.models.sql import SMALL_LIST, contains_text, in_id_list


def test_in_id_list_matches_short_and_long_lists_alike(people):
    ids = sorted(db.session.scalars(select(User.id)).all())
    for extra in (0, SMALL_LIST + 500):  # a literal list, then one JSON parameter
        wanted = ids[:3] + list(range(10**6, 10**6 + extra))
        found = db.session.scalars(select(User.id).where(in_id_list(User.id, wanted))).all()
        assert sorted(found) == ids[:3]


def test_contains_text_is_partial_case_insensitive_and_literal(people):
    def emails(text):
        return sorted(db.session.scalars(select(User.email).where(
            contains_text(User.email, text))).all())

    assert emails("PARTNER.EX") == ["bob@partner.example", "carol@partner.example",
                                    "erin@partner.example"]
    assert emails("%") == [] and emails("_") == []
    assert emails("full.admin@") == ["full.admin@example.com"]


def test_postgresql_plans_every_search_for_its_own_values(backend):
    if backend != "postgresql":
        return  # SQLite plans every statement afresh anyway
    from sqlalchemy import text

    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
