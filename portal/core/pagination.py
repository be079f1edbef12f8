"""The page number of a list, from the values of a URL's query string."""

# Far beyond any real list, and small enough that OFFSET never overflows.
MAX_PAGE = 100_000


def page_number(args):
    """`page=N` in `args` as 1..MAX_PAGE; anything else (missing, 0, -3, abc) is page 1."""
    value = args.get("page", 1, type=int) or 1
    return min(max(value, 1), MAX_PAGE)
