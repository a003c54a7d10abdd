"""Canonical column types and server defaults, so three spellings of one schema can be compared.

The legacy side says what DDL peewee would emit (``VARCHAR(191)``, ``BOOL``, ``JSONB``), the new
side what SQLAlchemy compiles for the dialect (``TIMESTAMP WITHOUT TIME ZONE``), the live side what
the database reports back (``TINYINT(1)``, ``INTEGER(11)``, ``'x'::character varying``). Each is
reduced to one canonical spelling per *dialect*. Two spellings meet only when the database treats
them alike, so a real difference (a length, a precision, JSON against JSONB) survives.

Canonical forms by dialect; anything not listed keeps its own name, upper-cased, with its
arguments. Declared lengths and precisions are kept on SQLite too, though SQLite ignores them:
they are the models' intent, and the same models run on the server databases.

===========================  ===============  ==========================  =====================
declared as                  postgresql       mysql (MariaDB too)         sqlite
===========================  ===============  ==========================  =====================
INT, INTEGER, INT4, SERIAL   INTEGER          INTEGER (display width      INTEGER
                                              dropped)
BIGINT, SMALLINT             BIGINT, SMALLINT BIGINT, SMALLINT            INTEGER (one integer
                                                                          class and affinity)
BOOL, BOOLEAN                BOOLEAN          BOOLEAN, = TINYINT(1)       INTEGER (NUMERIC and
                                                                          INTEGER affinity act
                                                                          alike; 0/1 stored)
VARCHAR(n), CHARACTER        VARCHAR(n)       VARCHAR(n)                  VARCHAR(n)
VARYING(n)
NUMERIC(p,s), DECIMAL(p,s)   NUMERIC(p, s)    NUMERIC(p, s); bare =       NUMERIC(p, s)
                                              NUMERIC(10, 0)
TIMESTAMP [WITHOUT TIME      TIMESTAMP        --                          TIMESTAMP
ZONE]
DATETIME[(fsp)]              --               TIMESTAMP[(fsp)]            TIMESTAMP
TIMESTAMP WITH TIME ZONE     TIMESTAMPTZ      --                          --
MySQL's TIMESTAMP (stored    --               TIMESTAMP WITH LOCAL TIME   --
as UTC, session-converted)                    ZONE
JSON, JSONB                  JSON, JSONB      JSON, also MariaDB's        JSON (NUMERIC
                             (distinct)       LONGTEXT + json_valid CHECK affinity: not TEXT)
TEXT, TINY/MEDIUM/LONGTEXT   TEXT             each distinct               TEXT
REAL, FLOAT, DOUBLE          REAL, DOUBLE     REAL, DOUBLE (REAL is       DOUBLE (one REAL
                             (FLOAT = DOUBLE) DOUBLE; FLOAT is REAL)      class)
BYTEA, BLOB                  BLOB             BLOB (sizes distinct)       BLOB
===========================  ===============  ==========================  =====================

``CHARACTER SET`` / ``COLLATE`` clauses and ``AUTO_INCREMENT`` are not part of a type (the
autoincrement property is compared as a default instead); ``UNSIGNED`` and array brackets are.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

AUTOINCREMENT = "(autoincrement)"


def dialect_family(name: str) -> str:
    """The dialect names this module knows: MariaDB is spoken of as ``mysql``.

    >>> dialect_family("mariadb"), dialect_family("postgresql")
    ('mysql', 'postgresql')
    """
    return "mysql" if name in ("mysql", "mariadb") else name


_STRIP = re.compile(
    r"\s+(?:CHARACTER\s+SET|CHARSET|COLLATE)\s+(?:\"[^\"]*\"|`[^`]*`|\S+)|\s+AUTO_INCREMENT|\s+ZEROFILL",
    re.IGNORECASE,
)
_TYPE = re.compile(
    r"^(?P<name>[A-Z_][A-Z0-9_ ]*?)\s*(?:\((?P<args>[^)]*)\))?(?P<rest>(?:\s+[A-Z ]+)?)$"
)

_INTEGERS = {
    "INT": "INTEGER", "INTEGER": "INTEGER", "INT4": "INTEGER", "SERIAL": "INTEGER",
    "SERIAL4": "INTEGER", "MEDIUMINT": "MEDIUMINT", "BIGINT": "BIGINT", "INT8": "BIGINT",
    "BIGSERIAL": "BIGINT", "SERIAL8": "BIGINT", "SMALLINT": "SMALLINT", "INT2": "SMALLINT",
    "SMALLSERIAL": "SMALLINT", "SERIAL2": "SMALLINT",
}  # fmt: skip
_ALIASES = {
    "CHARACTER VARYING": "VARCHAR", "NVARCHAR": "VARCHAR", "VARCHAR2": "VARCHAR",
    "CHARACTER": "CHAR", "NCHAR": "CHAR", "BPCHAR": "CHAR", "DECIMAL": "NUMERIC", "DEC": "NUMERIC",
    "FIXED": "NUMERIC", "BOOL": "BOOLEAN", "CLOB": "TEXT", "BYTEA": "BLOB",
    "DOUBLE PRECISION": "DOUBLE", "FLOAT8": "DOUBLE", "FLOAT4": "REAL",
    "TIME WITHOUT TIME ZONE": "TIME", "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ", "TIME WITH TIME ZONE": "TIMETZ",
}  # fmt: skip


def canonical_type(declared: str | None, dialect: str) -> str:
    """The canonical spelling of a declared column type on ``dialect``.

    >>> canonical_type("TINYINT(1)", "mysql"), canonical_type("numeric(9, 6)", "postgresql")
    ('BOOLEAN', 'NUMERIC(9, 6)')
    """
    if not declared:
        return "(none)"
    text = _STRIP.sub("", " ".join(declared.split())).upper().strip()
    array = ""
    while text.endswith("[]"):  # PostgreSQL arrays: the element type is canonicalized
        array += "[]"
        text = text[:-2].rstrip()
    unsigned = bool(re.search(r"\bUNSIGNED\b", text))
    text = re.sub(r"\s*\bUNSIGNED\b", "", text)
    if text.startswith("ENUM(") or text.startswith("SET("):
        return _enum(text) + array
    # "TIMESTAMP(3) WITHOUT TIME ZONE": the precision sits between the name and the zone words.
    match = _TYPE.match(text)
    if match is None:
        return text + (" UNSIGNED" if unsigned else "") + array
    name = " ".join((match["name"] + " " + match["rest"]).split())
    args = [a.strip() for a in match["args"].split(",")] if match["args"] else []
    canonical = _family(name, args, dialect)
    return canonical + (" UNSIGNED" if unsigned else "") + array


def _family(name: str, args: list[str], dialect: str) -> str:
    if name == "TINYINT":
        if dialect == "sqlite":
            return "INTEGER"
        # MySQL spells BOOL as TINYINT(1); only that width is a boolean.
        return "BOOLEAN" if args == ["1"] else "TINYINT"
    if name in _INTEGERS:
        # Integer arguments are MySQL display widths: cosmetic, not storage.
        # SQLite stores every integer in one 8-byte class (peewee declares them all INTEGER).
        return "INTEGER" if dialect == "sqlite" else _INTEGERS[name]
    name = _ALIASES.get(name, name)
    if name == "BOOLEAN":
        return "INTEGER" if dialect == "sqlite" else "BOOLEAN"
    if name in ("NUMERIC", "DECIMAL"):
        return _numeric(args, dialect)
    if name in ("VARCHAR", "CHAR", "VARBINARY", "BINARY", "BIT"):
        if not args and name == "CHAR":
            args = ["1"]  # CHAR alone is CHAR(1) on every dialect
        return f"{name}({args[0]})" if args else name
    if name in ("DATETIME", "TIMESTAMP", "TIMESTAMPTZ"):
        return _timestamp(name, args, dialect)
    if name in ("FLOAT", "REAL", "DOUBLE"):
        return _float(name, args, dialect)
    return f"{name}({', '.join(args)})" if args else name


def _numeric(args: list[str], dialect: str) -> str:
    if not args:
        return "NUMERIC(10, 0)" if dialect == "mysql" else "NUMERIC"
    precision = args[0]
    scale = args[1] if len(args) > 1 else "0"
    return f"NUMERIC({precision}, {scale})"


def _timestamp(name: str, args: list[str], dialect: str) -> str:
    precision = args[0] if args else None
    zone = ""
    if dialect == "mysql":
        if name == "TIMESTAMP":
            # MySQL's TIMESTAMP converts to UTC from the session time zone: not a DATETIME.
            zone = " WITH LOCAL TIME ZONE"
        name = "TIMESTAMP"
        if precision == "0":
            precision = None  # fsp 0 is the default
    else:
        name = "TIMESTAMPTZ" if name == "TIMESTAMPTZ" else "TIMESTAMP"
        if dialect == "postgresql" and precision == "6":
            precision = None  # microseconds are PostgreSQL's default
    return (f"{name}({precision})" if precision else name) + zone


def _float(name: str, args: list[str], dialect: str) -> str:
    if dialect == "sqlite":
        return "DOUBLE"  # one 8-byte REAL storage class
    if name == "FLOAT" and args and args[0].isdigit() and len(args) == 1:
        return "REAL" if int(args[0]) <= 24 else "DOUBLE"
    if name == "FLOAT":
        return "REAL" if dialect == "mysql" else "DOUBLE"  # PostgreSQL FLOAT is float8
    if name == "REAL":
        return "DOUBLE" if dialect == "mysql" else "REAL"  # MySQL REAL is DOUBLE by default
    return "DOUBLE"


def _enum(text: str) -> str:
    kind, _, body = text.partition("(")
    values = [v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", body)]
    return f"{kind}({', '.join(repr(v) for v in values)})"


def enum_type(values: list[str] | tuple[str, ...]) -> str:
    """The canonical spelling of a native enum type with these values (PostgreSQL's named ENUM)."""
    return f"ENUM({', '.join(repr(v) for v in values)})"


_NOW = re.compile(
    r"^(?:now\(\)|current_timestamp(?:\(\))?|localtimestamp(?:\(\))?)$", re.IGNORECASE
)
_NOW_PRECISION = re.compile(r"^(?:now|current_timestamp|localtimestamp)\((\d+)\)$", re.IGNORECASE)
_PG_CAST = re.compile(r"::[a-z_][\w ]*(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])*$", re.IGNORECASE)
_TRUE = {"true", "'t'", "'true'", "1", "'1'", "b'1'"}
_FALSE = {"false", "'f'", "'false'", "0", "'0'", "b'0'"}


def canonical_default(text: str | None, canonical: str) -> str | None:
    """A server default's canonical text for a column of canonical type ``canonical``.

    None means no default (``DEFAULT NULL`` is none either). PostgreSQL's casts, MySQL's
    ``current_timestamp()``, the spellings of booleans and of numbers are made one.

    >>> canonical_default("'x'::character varying", "VARCHAR(10)")
    "'x'"
    >>> canonical_default("0", "BOOLEAN")
    'FALSE'
    """
    if text is None:
        return None
    value = " ".join(str(text).split())
    if value.upper() == AUTOINCREMENT.upper():  # before stripping parentheses: it has them
        return AUTOINCREMENT
    while value.startswith("(") and value.endswith(")") and _balanced(value[1:-1]):
        value = value[1:-1].strip()
    if value.lower().startswith("nextval("):
        return AUTOINCREMENT  # a SERIAL column's sequence
    previous = None
    while previous != value:  # casts can nest: '{}'::jsonb::json
        previous = value
        value = _PG_CAST.sub("", value).strip()
        while value.startswith("(") and value.endswith(")") and _balanced(value[1:-1]):
            value = value[1:-1].strip()
    if value.upper() == "NULL":
        return None
    if _NOW.match(value):
        return "CURRENT_TIMESTAMP"
    precision = _NOW_PRECISION.match(value)
    if precision:
        return f"CURRENT_TIMESTAMP({precision[1]})"
    lowered = value.lower()
    if canonical == "BOOLEAN" or (canonical == "INTEGER" and lowered in ("true", "false")):
        if lowered in _TRUE:
            return "TRUE" if canonical == "BOOLEAN" else "1"
        if lowered in _FALSE:
            return "FALSE" if canonical == "BOOLEAN" else "0"
    number = _number(value)
    if number is not None and _is_numeric_type(canonical):
        return number
    if value.startswith("'") and value.endswith("'") and len(value) >= 2:
        return "'" + value[1:-1].replace("''", "'").replace("\\'", "'").replace("'", "''") + "'"
    return _lower_outside_quotes(value)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _number(value: str) -> str | None:
    raw = value[1:-1] if value.startswith("'") and value.endswith("'") else value
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _is_numeric_type(canonical: str) -> bool:
    head = canonical.split("(")[0].split(" ")[0]
    return head in {
        "INTEGER",
        "BIGINT",
        "SMALLINT",
        "MEDIUMINT",
        "TINYINT",
        "NUMERIC",
        "REAL",
        "DOUBLE",
    }


def _lower_outside_quotes(value: str) -> str:
    parts = re.split(r"('(?:[^']|'')*')", value)
    return "".join(part if part.startswith("'") else part.lower() for part in parts)


def canonical_expression(text: str) -> str:
    """An index expression's canonical text: quotes, casts and redundant parentheses dropped.

    PostgreSQL reports ``lower((name)::text)`` for what peewee wrote as ``lower("name")``.

    >>> canonical_expression('lower((name)::text)'), canonical_expression('LOWER("name")')
    ('lower(name)', 'lower(name)')
    """
    value = re.sub(r'["`]', "", text)
    value = re.sub(
        r"::[a-z_][\w]*(?:\s+(?:varying|precision|without time zone|with time zone))?",
        "",
        value,
        flags=re.I,
    )
    previous = None
    while previous != value:  # "(name)" around a bare identifier is not a call: drop the parens
        previous = value
        value = re.sub(r"(?<![\w])\(\s*([\w.]+)\s*\)", r"\1", value)
    return _lower_outside_quotes(" ".join(value.split()))


def parse_create_index(sql: str) -> tuple[bool, tuple[str, ...], bool] | None:
    """``CREATE [UNIQUE] INDEX ... ON table (parts) [WHERE ...]`` as (unique, parts, partial).

    Plain column names come back unquoted, expressions in :func:`canonical_expression` form,
    orderings (ASC/DESC) dropped; None when ``sql`` is not such a statement.

    >>> parse_create_index('CREATE INDEX "i" ON "Tag" (lower("name"), "id" DESC)')
    (False, ('lower(name)', 'id'), False)
    """
    text = " ".join(sql.split())
    match = re.match(r"CREATE (UNIQUE )?INDEX .*? ON \S+(?: USING \w+)? ?\(", text, re.I)
    if match is None:
        return None
    body, depth, end = text[match.end() :], 1, len(text)
    for position, char in enumerate(body):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            end = position
            break
    parts = []
    for part in _split_top_level(body[:end]):
        part = re.sub(r"\s+(ASC|DESC)$", "", part, flags=re.I)
        plain = re.fullmatch(r'"([^"]+)"|`([^`]+)`|(\w+)', part)
        parts.append(next(g for g in plain.groups() if g) if plain else canonical_expression(part))
    return bool(match.group(1)), tuple(parts), " WHERE " in body[end:].upper()


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()] if current.strip() else parts
