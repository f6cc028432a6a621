"""The weekly watch of the cellules de veille: expected weekly counts per watched perimeter and family, alerts
with a controlled false-alarm rate, alert history per snapshot. No Dash import (analytics floor).

- ``model``: pure functions over weekly series (baseline NB regression, spike and drift tests, Bonferroni over
  the week's tests, coarser levels, episodes).
- ``watch``: weekly counts from the current snapshot's incidents, and the recorded alert history.
"""
