"""A second example application: a multi-tenant fleet and maintenance tracker.

It is unlike the reference application (``harness.reference``) on purpose, to show that nothing
in the harness is tied to that schema: integer ``SERIAL`` / auto-increment primary keys,
snake_case table and column names, an integer ``org_id`` tenant column, timestamps with time
zone on PostgreSQL, and each database's own types:

=========================  ===========================  ==========================  ===================
column                     PostgreSQL                   MariaDB                     SQLite
=========================  ===========================  ==========================  ===================
``*.id``                   SERIAL                       INTEGER AUTO_INCREMENT      INTEGER (rowid)
``*.created_at`` & co.     TIMESTAMP WITH TIME ZONE     DATETIME(6) (UTC)           DATETIME (UTC text)
``assets.tags``            TEXT[] (array)               JSON (a list)               TEXT (a JSON list)
``assets.specs``           JSONB                        JSON                        TEXT (JSON)
``orgs.settings``          JSONB                        JSON                        TEXT (JSON)
``assets.serial_uuid``     UUID                         CHAR(32) (hex)              CHAR(32) (hex)
``assets.status``          enum ``asset_status``        VARCHAR(16) + CHECK         VARCHAR(16) + CHECK
``work_orders.state``      enum ``work_order_state``    VARCHAR(16) + CHECK         VARCHAR(16) + CHECK
=========================  ===========================  ==========================  ===================

Both ORMs map the same physical schema (:mod:`fleet_example.legacy` with peewee,
:mod:`fleet_example.models` with SQLAlchemy); the legacy models create it. The fixture provider
is ``fleet_example.provider:provider``, the pairs are in :mod:`fleet_example.pairs`, and
:mod:`fleet_example.planted` holds divergences the harness must flag. The package lives in the
repository's ``examples/`` folder and is not installed with the harness: put ``examples/`` on
``sys.path`` (``PYTHONPATH=examples harness run --fixture fleet_example.provider:provider
--pairs fleet_example.pairs``).
"""
