"""GitHub as the tracker: the ``tracker`` itself, its HTTP ``client``, the sync ``cursor``,
token ``access`` checks for doctor, and the token-scoped git ``push``."""

CACHE = "tracker:github"


def bot_key(api_url: str) -> str:
    """Where the token's login is cached in the admin's kv (``shiftctl serve`` reads it)."""
    return f"{CACHE}:bot:{api_url}"
