"""Everything that imports Dash: app factory, pages, components, component ids."""
