"""Pages of the dashboard (Dash Pages)."""
