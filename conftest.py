"""Root conftest: the project's own tests live in tests/, benchmarks in benchmarks/.

The pytest plugin itself is registered by the package's ``pytest11`` entry point; nothing here
turns the harness on, so ``pytest`` runs the project's tests and ``pytest --harness`` the pairs.
"""
