"""Command groups of the ``observatory`` CLI, one module each, each with ``register(app)``."""
