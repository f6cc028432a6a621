"""The parts of the Plan d'actions page (``pages/actions.py``): component ids, the register and territory it
reads, its charts, its tables, its file exports and the analysts' edit form."""
