"""Run: execute a pair's two sides against a live database (stage 4).

``sides`` runs one case (each side in its own rolled-back transaction, statements captured, side
order shuffled from the run's seed); ``snapshot`` reads the watched tables before and after a
writing side; ``timing`` times the sides for the latency gate.
"""
