"""Account > Audit Logs: filtering, one entry, and the rows of an export."""
from dataclasses import dataclass, field

from sqlalchemy import String, cast, func, or_, select

from ..core.day_range import day_window, parse_day_range
from ..core.pagination import page_number
from ..extensions import db
from ..models import AuditLogEntry
from ..models.sql import contains_text
from .catalogue import AUDIT_TYPES, CATEGORIES

MAX_TEXT = 254


@dataclass
class AuditCriteria:
    category: str = ""
    type: str = ""
    actor: str = ""
    text: str = ""
    start: object = None
    end: object = None
    page: int = 1
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_args(cls, args):
        criteria = cls(category=args.get("category", ""), type=args.get("type", ""),
                       actor=args.get("actor", "").strip()[:MAX_TEXT],
                       text=args.get("q", "").strip()[:MAX_TEXT], page=page_number(args))
        if criteria.category and criteria.category not in CATEGORIES:
            criteria.errors["category"] = "Choose a category from the list."
            criteria.category = ""
        if criteria.type:
            allowed = AUDIT_TYPES.get(criteria.category) if criteria.category else [
                t for types in AUDIT_TYPES.values() for t in types]
            if criteria.type not in allowed:
                criteria.errors["type"] = ("Choose a type within the chosen category."
                                           if criteria.category else
                                           "Choose a type from the list.")
                criteria.type = ""
        criteria.start, criteria.end = parse_day_range(args, criteria.errors)
        return criteria

    def as_args(self, **changes):
        values = {"category": self.category, "type": self.type, "actor": self.actor,
                  "q": self.text, "start": self.start.isoformat() if self.start else "",
                  "end": self.end.isoformat() if self.end else "", "page": self.page}
        values.update(changes)
        return {k: v for k, v in values.items()
                if v not in ("", None) and not (k == "page" and v == 1)}

    def describe(self):
        """The filter in words, for the export's own audit entry."""
        return {k: v for k, v in self.as_args().items() if k != "page"}


def audit_conditions(criteria, zone_name):
    conditions = []
    if criteria.category:
        conditions.append(AuditLogEntry.category == criteria.category)
    if criteria.type:
        conditions.append(AuditLogEntry.type == criteria.type)
    lower, upper = day_window(criteria.start, criteria.end, zone_name)
    if lower is not None:
        conditions.append(AuditLogEntry.occurred_at >= lower)
    if upper is not None:
        conditions.append(AuditLogEntry.occurred_at < upper)
    if criteria.actor:
        conditions.append(contains_text(AuditLogEntry.actor_email, criteria.actor))
    if criteria.text:
        conditions.append(or_(contains_text(AuditLogEntry.type, criteria.text),
                              contains_text(AuditLogEntry.actor_email, criteria.text),
                              contains_text(AuditLogEntry.ip, criteria.text),
                              contains_text(cast(AuditLogEntry.details, String),
                                            criteria.text)))
    return conditions


NEWEST_FIRST = (AuditLogEntry.occurred_at.desc(), AuditLogEntry.chain_seq.desc())


def audit_entries(criteria, zone_name, per_page):
    conditions = audit_conditions(criteria, zone_name)
    total = db.session.scalar(select(func.count()).select_from(AuditLogEntry).where(*conditions))
    criteria.page = min(criteria.page, max((total + per_page - 1) // per_page, 1))
    page = db.paginate(select(AuditLogEntry).where(*conditions).order_by(*NEWEST_FIRST),
                       page=criteria.page, per_page=per_page, error_out=False, count=False)
    page.total = total
    return page


def audit_entry(entry_id):
    return db.session.get(AuditLogEntry, entry_id)


def audit_export_rows(criteria, zone_name, batch=500):
    """Every entry of the filter, newest first, read from the database in batches."""
    query = (select(AuditLogEntry).where(*audit_conditions(criteria, zone_name))
             .order_by(*NEWEST_FIRST).execution_options(yield_per=batch))
    yield from db.session.scalars(query)
