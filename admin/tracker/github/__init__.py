"""GitHub as the tracker: the ``tracker`` itself, its HTTP ``client``, the sync ``cursor``,
token ``access`` checks for doctor, and the token-scoped git ``push``."""
