"""Error hierarchy. Each error carries the process exit code of DESIGN §3.2 and one or more
human-readable lines (``file:line: path.to.field: message``) that the CLI prints without a traceback."""

from __future__ import annotations


class PlannerError(Exception):
    exit_code = 1

    def __init__(self, messages: str | list[str]):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))


class InputError(PlannerError):
    """Malformed or inconsistent input (problem file, catalog, CSV)."""

    exit_code = 3


class ProblemError(InputError):
    pass


class CatalogError(InputError):
    pass


class InfeasibleError(PlannerError):
    """No plan meets the constraints; messages say which constraint and by how much."""

    exit_code = 4


class SolverLimitError(PlannerError):
    """The solver stopped at a time/iteration limit without a feasible plan."""

    exit_code = 5


class SolverError(PlannerError):
    """The solver failed in a way that is not the input's fault."""

    exit_code = 1


def read_text(path, error: type[InputError] = InputError) -> str:
    """A UTF-8 input file's text, or ``error`` (exit code 3) saying why it cannot be read."""
    from pathlib import Path

    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None


def read_csv_text(path, what: str = "CSV"):
    """A CSV file as a frame of strings (empty cells stay ''), or an InputError (exit code 3) saying
    why it cannot be read; ``what`` names the file's role in the message."""
    from pathlib import Path

    import pandas as pd

    path = Path(path)
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot parse {what}: {str(exc).splitlines()[0] if str(exc) else exc}") from None
