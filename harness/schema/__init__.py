"""schema-diff: the legacy models, the new models and the live database, compared.

``model`` reads both ORMs' models into one shape, ``live`` reflects the database, ``coltypes``
compares column types and defaults across spellings, ``hints`` explains likely causes, ``diff``
puts them together.
"""
