"""The one exception type that reaches the user.

Every refusal is a :class:`UserError`: one sentence naming the file, line and field, printed
by the CLI without a traceback, exiting 2 (bad input or configuration, nothing sent).
"""


class UserError(Exception):
    """Bad input or configuration: the message is shown as is, and the exit code is 2."""

    exit_code = 2


def where(path, line: int | None = None, field: str | None = None) -> str:
    """``file, line N, column "x"``: the prefix every input error starts with."""
    parts = [str(path)]
    if line is not None:
        parts.append(f"line {line}")
    if field is not None:
        parts.append(f'column "{field}"')
    return ", ".join(parts)
