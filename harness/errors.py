"""The harness's errors: one root, and named constructors that say what happened and what to do.

Every error a user can fix before a run is a :class:`HarnessError`; the command line prints its
message as one line and exits with status 2, the pytest plugin turns it into a usage error.
"""

from __future__ import annotations

# The exit status of the command line: the gate passed, the gate failed, the run could not be made.
EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class HarnessError(Exception):
    """A run cannot be made as asked. The message is one line: what happened and what to fix."""

    exit_code = EXIT_USAGE

    def __str__(self) -> str:  # one line, whatever the message was built from
        return " ".join(super().__str__().split())


class ConfigError(HarnessError):
    """A bad option, setting or configuration value."""

    @classmethod
    def bad_value(cls, setting: str, value: object, expected: str) -> ConfigError:
        return cls(f"{setting}: {value!r} is not valid; expected {expected}.")


class DatabaseError(HarnessError):
    """The database named by the user cannot be used."""

    @classmethod
    def unknown_scheme(cls, url: str) -> DatabaseError:
        return cls(
            f"--db {url}: unknown URL scheme; use sqlite:///PATH, postgresql://USER@HOST/DB, "
            "mysql://USER@HOST/DB or container:postgres."
        )

    @classmethod
    def unreachable(cls, url: str, problem: object) -> DatabaseError:
        """``problem``: a :class:`harness.database.connect.ConnectionProblem` (says the fix)."""
        return cls(f"cannot connect to {url}: {problem}")

    @classmethod
    def missing_driver(cls, dialect: str, module: str, extra: str) -> DatabaseError:
        return cls(
            f"the {dialect} driver ({module}) is not installed; "
            f'install it with: python -m pip install "orm-shadow-harness[{extra}]"'
        )


class ProviderError(HarnessError):
    """The fixture provider failed at one of its steps, or gave data the schema cannot take."""

    @classmethod
    def step_failed(cls, provider: str, step: str, exc: BaseException) -> ProviderError:
        """``provider`` raised ``exc`` while doing ``step`` (generate, create schema, load)."""
        detail = " ".join(str(exc).split())[:300]
        return cls(f"fixture provider {provider}: {step} failed: {type(exc).__name__}: {detail}")

    @classmethod
    def ddl_failed(cls, provider: str, statement: str, exc: BaseException) -> ProviderError:
        """A statement creating the schema was refused by the database."""
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        sql = " ".join(statement.split())
        sql = sql if len(sql) <= 300 else sql[:297] + "..."
        return cls(
            f"fixture provider {provider}: create schema failed: the database refused «{sql}»: "
            f"{type(exc).__name__}: {detail}; fix the model (or create_schema) it comes from"
        )


class RegistrationError(HarnessError):
    """A pair module or a pair is not usable as written."""

    @classmethod
    def for_pair(cls, pair: str, where: str, problem: str) -> RegistrationError:
        return cls(f"pair {pair!r} ({where}): {problem}")


class NormalizationError(Exception):
    """A side returned a value the harness cannot turn into plain data (a per-case error)."""

    def __init__(self, path: str, value: object) -> None:
        self.path = path
        super().__init__(
            f"cannot normalize {type(value).__module__}.{type(value).__qualname__} at {path or '<root>'}; "
            "return model instances, rows, dicts, lists, tuples or scalars, or give the pair a "
            "normalize= hook"
        )
