"""Compare: decide whether two normalized results are the same, and explain when not (stage 3).

``verdict`` decides equality (the fast path) and ``explain``/``align`` say what differs;
``depths`` is the shared walk of a result; ``tenancy`` finds rows of another tenant; ``fresh``
matches values both sides generate afresh (new ids, the clock) in row changes; ``judge`` turns two
observations into a case's verdict. Nothing here imports the database layer, the runner, the
drivers or pytest (checked by import-linter).
"""
