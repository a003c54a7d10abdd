"""Copies of a seeded fixture database, for parallel workers: seed once, clone per worker.

* SQLite: the file is copied (the connections to it closed first), the fastest copy there is;
* PostgreSQL: ``CREATE DATABASE clone TEMPLATE seeded``, a server-side file copy (no session may
  be connected to the seeded database meanwhile);
* MariaDB/MySQL: no template databases there; each table is recreated from its own
  ``SHOW CREATE TABLE`` (keys, indexes and foreign keys included) and filled with
  ``INSERT … SELECT`` on the server, foreign key checks off while it copies.

Example::

    with open_target(url) as seeded:
        seed_target(provider, seeded, dataset)
        seeded.close()
        with clone_target(seeded, suffix="gw1") as copy:
            ...
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator

from harness.database import janitor
from harness.database.scratch import admin_engine, execute_admin, scratch_name, sqlite_target
from harness.database.target import Target


@contextlib.contextmanager
def clone_target(seeded: Target, *, suffix: str, keep: bool = False) -> Iterator[Target]:
    """A new scratch database holding what ``seeded`` holds; dropped at the end unless ``keep``."""
    url = seeded.url
    if url.dialect == "sqlite":
        assert url.path is not None
        path = url.path.with_name(f"{url.path.stem}-{suffix}{url.path.suffix}")
        seeded.close()
        shutil.copyfile(url.path, path)
        try:
            with sqlite_target(path, scratch=True) as target:
                yield target
        finally:
            if not keep:
                path.unlink(missing_ok=True)
        return
    name = scratch_name(suffix)
    admin = admin_engine(url)
    try:
        if url.dialect == "postgresql":
            seeded.close()  # a template may have no session connected while it is copied
            owner = janitor.Owner.current()
            execute_admin(
                admin, url, janitor.create_sql("postgresql", name, owner, template=url.database)
            )
        else:
            _copy_mysql(seeded, name)
        target = Target(url.with_database(name), scratch=True)
        try:
            yield target
        finally:
            target.close()
            if not keep:
                execute_admin(admin, url, [janitor.drop_sql(url.dialect, name)])
    finally:
        admin.dispose()


def _copy_mysql(seeded: Target, name: str) -> None:
    source = seeded.url.database
    conn = seeded.raw_connection()
    try:
        cursor = conn.cursor()
        for sql in janitor.create_sql("mysql", name, janitor.Owner.current()):
            cursor.execute(sql)  # marked with its owner, so a janitor can find an orphan
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            (source,),
        )
        tables = [row[0] for row in cursor.fetchall()]
        for table in tables:
            cursor.execute(f"SHOW CREATE TABLE `{source}`.`{table}`")
            ddl = cursor.fetchone()[1]
            cursor.execute(f"USE `{name}`")
            cursor.execute(ddl)
        for table in tables:
            cursor.execute(f"INSERT INTO `{name}`.`{table}` SELECT * FROM `{source}`.`{table}`")
        conn.commit()
        cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
    finally:
        conn.close()
