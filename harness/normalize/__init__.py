"""Normalize: each side's result becomes plain, canonical data (stage 2 of the pipeline).

``walk`` turns any mix of ORM instances, rows, dicts, lists and scalars into plain data;
``instances`` reads peewee and SQLAlchemy instances by physical column name; ``rowdicts`` builds
flat rows fast. Nothing here imports the database layer, the runner, the drivers or pytest.
"""
