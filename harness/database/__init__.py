"""Database: the live scratch database both ORMs use (stage 4's ground).

``target`` is an open database with a SQLAlchemy engine and a peewee database on it; ``scratch``
creates, seeds and drops the harness's own scratch database (never the one a URL names);
``capture`` records every statement each side sends.
"""
