"""Words of statistical method an élu should not have to decode on a page (analysts keep them)."""

from __future__ import annotations

import re

METHOD_JARGON = re.compile(
    r"p-value|\bp\s*[=<>]|Poisson|Taylor|linéarisation|\bIC\b|intervalle de confiance|Benjamini|Hochberg|\bWDD\b"
    r"|coefficient de variation|quasi-|strates|grappes|docs/",
    re.IGNORECASE,
)


def jargon_in(text: str) -> list[str]:
    """The jargon words found in ``text`` (empty when it reads as plain French)."""
    return sorted({m.group(0) for m in METHOD_JARGON.finditer(text)})


def text_of(component) -> str:  # noqa: ANN001 - a Dash component tree
    """Every string of a component tree, joined by spaces."""
    if isinstance(component, str):
        return component
    if isinstance(component, (list, tuple)):
        return " ".join(text_of(c) for c in component)
    return text_of(component.children) if getattr(component, "children", None) is not None else ""
