"""Report: what a person and a CI system read (stage 6).

``results_file`` writes and reads results.json (the contract), ``html`` draws the self-contained
report, ``console`` the terminal summary and progress, ``publish`` writes both so that a failing
report never changes the verdict.
"""
