"""Small helpers shared by our tests."""


def exception_chain(exc):
    """The exception and its causes/contexts (Brian2 wraps errors in a
    BrianObjectException whose cause is the original error)."""
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def full_message(exc):
    """The messages of the whole exception chain, one per line."""
    return "\n".join(str(e) for e in exception_chain(exc))
