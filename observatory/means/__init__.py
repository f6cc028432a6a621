"""Means engaged and the response to delinquency (issue 22): a package on the analytics floor, no Dash.

- ``register``: the means register ``data/raw/moyens/moyens.csv`` (per action, or per arrondissement and period),
  validated with file/line/column messages, written back atomically (format: ``docs/means.md``).
- ``sources`` / ``store``: partner sources of aggregated monthly counts (MJD, victim support, elucidation),
  read by the ETL's reader, published in their own Parquet table under ``data/processed/agregats/``.
- ``indicators``: pure computations — means by year and arrondissement, per 1,000 inhabitants and per fact; cost
  per incident avoided (only from an evaluation that concludes an effect); response and elucidation rates.
- ``service``: what the CLI, the page and the diagnostic call (reads the files and the snapshot).
"""
