"""What schema comparison (autogenerate, the migrations test) should look at."""


def include_object_for(dialect_name):
    """An Alembic `include_object` that skips objects made for another database
    (indexes declared with `.ddl_if(dialect=...)`, such as the trigram ones)."""

    def include_object(obj, name, type_, reflected, compare_to):
        ddl_if = getattr(obj, "_ddl_if", None)
        return ddl_if is None or ddl_if.dialect in (None, dialect_name)

    return include_object
