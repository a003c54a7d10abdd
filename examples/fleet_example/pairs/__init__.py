"""The fleet tracker's router operations as pairs: every one must be equal on every database.

``harness run --fixture fleet_example.provider:provider --pairs fleet_example.pairs`` (with
``examples/`` on ``PYTHONPATH``) loads both modules of this package: :mod:`.reads` and
:mod:`.writes`. The tenant column, ``org_id``, comes from the provider.
"""
