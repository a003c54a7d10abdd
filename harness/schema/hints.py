"""What to fix, for each kind of schema difference and each side that is the odd one out.

A hint is called with the odd side (``legacy``, ``new`` or ``live``) and the value the two other
sides agree on (None when they lack the object), and says in the odd side's own vocabulary
(peewee field options, SQLAlchemy column arguments, DDL) how to make it agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from harness.schema.model import ColumnShape, IndexShape

Hint = Callable[[str, "str | None"], str]

WHO = {
    "legacy": "the legacy (peewee) model",
    "new": "the new (SQLAlchemy) model",
    "live": "the live database",
}
SHORT = {"legacy": "the legacy model", "new": "the new model", "live": "the live database"}
_RECREATE = "or recreate the database from the legacy models"


def generic_hint(side: str, expected: str | None) -> str:
    """Make the odd side say ``expected`` (or drop what it alone has)."""
    if side == "live":
        target = f"to {expected}" if expected is not None else "to drop it"
        return f"migrate the database {target}, {_RECREATE}"
    model = "the SQLAlchemy model" if side == "new" else "the peewee model"
    return f"make {model} say {expected}" if expected is not None else f"remove it from {model}"


def rename_hint(actual: str) -> Hint:
    """The odd side names the column ``actual``; the others ``expected``."""

    def hint(side: str, expected: str | None) -> str:
        if side == "new":
            return (
                f"it names the column {actual!r}; map {expected!r}: mapped_column({expected!r}, …)"
            )
        if side == "legacy":
            return f"it names the column {actual!r}; set column_name={expected!r} on the field"
        return f"the column is {actual!r} there; rename it to {expected!r} {_RECREATE}"

    return hint


def column_hint(column: str) -> Hint:
    """The odd side lacks ``column`` (expected present) or alone has it (expected None)."""

    def hint(side: str, expected: str | None) -> str:
        if expected is None:
            return {
                "new": f"remove {column!r} from the SQLAlchemy model, or add it to the legacy one",
                "legacy": f"remove the field of {column!r} from the peewee model, or add it to "
                "the new one",
                "live": f"the database has a column {column!r} no model has; drop it {_RECREATE}",
            }[side]
        return {
            "new": f"add a mapped column {column!r} to the SQLAlchemy model",
            "legacy": f"add a field with column_name={column!r} to the peewee model",
            "live": f"the database lacks {column!r}; add it {_RECREATE}",
        }[side]

    return hint


def type_hint(shapes: Mapping[str, ColumnShape]) -> Hint:
    """Name the odd side's own spelling of the type next to the one expected."""

    def hint(side: str, expected: str | None) -> str:
        declared = shapes[side].declared
        if side == "new":
            return (
                f"it compiles to {declared}; use a type that compiles to {expected} (with_variant)"
            )
        if side == "legacy":
            return f"peewee emits {declared}; use a field (max_length, max_digits…) for {expected}"
        return f"the column is {declared}; ALTER it to {expected} {_RECREATE}"

    return hint


def nullable_hint(side: str, expected: str | None) -> str:
    flag = expected == "NULL"
    if side == "new":
        return f"set nullable={flag} on the column (Mapped[... | None] for NULL)"
    if side == "legacy":
        return f"set null={flag} on the field"
    return f"ALTER the column to {expected} {_RECREATE}"


def default_hint(side: str, expected: str | None) -> str:
    none = expected == "(none)"
    if side == "new":
        return "remove server_default" if none else f"set server_default=text({expected!r})"
    if side == "legacy":
        if none:
            return "remove the DEFAULT constraint"
        return f"add constraints=[SQL({'DEFAULT ' + str(expected)!r})]"
    return f"ALTER the column's default to {expected} {_RECREATE}"


def fk_hint(column: str) -> Hint:
    """A foreign key on ``column`` that is missing, extra, or points elsewhere."""

    def hint(side: str, expected: str | None) -> str:
        if side == "new":
            if expected is None:
                return "remove the ForeignKey"
            if "," in expected:
                return f"declare a ForeignKeyConstraint on ({column}) referring to {expected}"
            dotted = expected.replace("(", ".").rstrip(")")  # ForeignKey() takes "Table.col"
            return f"declare ForeignKey({dotted!r}) on {column}"
        if side == "legacy":
            if expected is None:
                return "make it a plain field"
            return f"make {column} a ForeignKeyField to {expected}"
        verb = "add" if expected else "drop"
        return f"{verb} the constraint in the database {_RECREATE}"

    return hint


def action_hint(aspect: str) -> Hint:
    """An ``on delete`` / ``on update`` action that differs."""

    def hint(side: str, expected: str | None) -> str:
        if side == "new":
            return f"set {aspect.replace(' ', '')}={expected!r} on the ForeignKey"
        if side == "legacy":
            return f"set {aspect.replace(' ', '_')}={expected!r} on the ForeignKeyField"
        return f"recreate the constraint with {aspect.upper()} {expected}"

    return hint


def index_hint(index: IndexShape, peewee_fk_index: bool = False) -> Hint:
    """An index or unique key that one side lacks (or alone has).

    ``peewee_fk_index``: the index is the one peewee creates for every ``ForeignKeyField``.
    """
    cols = ", ".join(repr(c) for c in index.columns)

    def hint(side: str, expected: str | None) -> str:
        if expected is None:
            return generic_hint(side, expected)
        if side == "new" and index.unique:
            return f"add UniqueConstraint({cols}, name={index.name!r}) or a unique Index"
        if side == "new" and peewee_fk_index:
            return (
                f"peewee indexes every ForeignKeyField by itself and SQLAlchemy does not: add "
                f"index=True to the column, or Index({index.name!r}, {cols}) to the table"
            )
        if side == "new":
            return f"add Index({index.name!r}, {cols}) to the table"
        if side == "legacy":
            unique = ", unique=True" if index.unique else ""
            return f"add Model.add_index(…{unique}, name={index.name!r}) on ({cols})"
        return f"create the index in the database {_RECREATE}"

    return hint
