"""Gate: the rules that turn a run's results into the merge verdict (stage 5).

``budget`` checks query counts and latency ratios, ``latency`` computes paired latency ratios and
their confidence intervals, ``baseline`` accepts reviewed differences. Pure: no database, no
runner, no pytest.
"""
