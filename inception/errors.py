"""The task runner's expected errors: each says what went wrong and what to do."""


class InceptionError(Exception):
    """A failure the user can act on; tasks.py prints it as `error: <message>`."""
