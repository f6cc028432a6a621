"""Helpers shared by command modules: one console, one way to fail with a clear message, French help, Paris time.

The command line is a user interface like the dashboard: its help is French and shows French placeholders
(``FICHIER``, ``ANNÉE``…) instead of Python types (``<list[Path]>``, ``<bool>``), and every time it prints is
Europe/Paris wall time whatever the machine's zone. Command groups are built with :func:`french_typer` so
that commands registered on them get this help without each author having to think about it.
"""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from observatory.config import Settings, SettingsError, get_settings
from observatory.labels import PARIS, fmt_day, fmt_paris, to_paris  # noqa: F401 - re-exported for the command modules

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error on stderr and exit with ``code`` (never a traceback)."""
    # Messages quote partner data and profile keys such as "[location] crs": never read them as Rich markup.
    err_console.print(f"[bold red]Erreur[/] : {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings_or_fail() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        fail(str(exc))


# French help ----------------------------------------------------------------------------------------------------
HELP_OPTION_TEXT = "Afficher cette aide et quitter."

# Placeholder shown for a parameter whose author gave no metavar, from its Python type.
_FALLBACK_METAVARS = {"int": "NOMBRE", "float": "NOMBRE", "str": "TEXTE", "Path": "CHEMIN", "date": "DATE", "datetime": "DATE"}


def _fallback_metavar(param: TyperOption | TyperArgument) -> str:
    try:
        bare = param.bare_type()
    except Exception:  # noqa: BLE001 - an unusual annotation: a neutral placeholder is enough for help text
        bare = ""
    if bare.startswith("list[") and bare.endswith("]"):
        bare = bare[5:-1]
    return _FALLBACK_METAVARS.get(bare, "VALEUR")


class _FrenchArgument(TyperArgument):
    """An argument whose help row shows only its French placeholder, not a second ``<list[Path]>`` type column."""

    def display_type_rich(self, ctx):  # noqa: ANN001, ANN201 - typer's signature
        return None


def _frenchify(params: list) -> None:
    for param in params:
        if isinstance(param, TyperArgument):
            if param.metavar is None:
                param.metavar = (param.name or "valeur").upper()
            # typer prints the Python type beside an argument even when it has a metavar; this subclass only
            # overrides that display (same fields, no new state), so swapping the class is safe.
            param.__class__ = _FrenchArgument
        elif isinstance(param, TyperOption) and param.metavar is None:
            # Flags take no value: an empty placeholder hides the ``<bool>`` column.
            param.metavar = "" if (param.is_flag or param.count) else _fallback_metavar(param)


class _FrenchHelpMixin:
    """French ``--help`` row and usage line (``FICHIER...`` rather than ``{files}...``)."""

    def get_help_option(self, ctx):  # noqa: ANN001, ANN201 - click's signature
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_TEXT
            option.metavar = ""
        return option


class FrenchCommand(_FrenchHelpMixin, TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _frenchify(self.params)

    def collect_usage_pieces(self, ctx):  # noqa: ANN001, ANN201 - click's signature
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.params:
            if isinstance(param, TyperArgument):
                name = param.metavar + ("..." if param.nargs != 1 else "")
                pieces.append(name if param.required else f"[{name}]")
        return pieces


class FrenchGroup(_FrenchHelpMixin, TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("subcommand_metavar") is None:
            kwargs["subcommand_metavar"] = "COMMANDE [ARGUMENTS]..."
        super().__init__(*args, **kwargs)
        _frenchify(self.params)


class FrenchTyper(typer.Typer):
    """A ``typer.Typer`` whose commands and groups print French help (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", FrenchGroup)
        kwargs.setdefault("rich_markup_mode", "rich")
        kwargs.setdefault("add_completion", False)
        super().__init__(**kwargs)

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any):  # noqa: ANN201 - typer's decorator
        return super().command(*args, cls=cls or FrenchCommand, **kwargs)


def french_typer(help: str, **kwargs: Any) -> FrenchTyper:  # noqa: A002 - typer's parameter name
    """A command group with French help; ``help`` is one French sentence saying what the group is for."""
    return FrenchTyper(help=help, no_args_is_help=True, **kwargs)


def install_french_help_chrome() -> None:
    """Translate typer's fixed help strings (panel titles, ``[default: …]``, ``[required]``, error frame).

    typer keeps them as module constants of ``typer.rich_utils`` read at each help rendering; a typer without
    them (an older or newer layout) keeps its English words rather than failing.
    """
    try:
        from typer import rich_utils
    except ImportError:  # pragma: no cover - typer without rich: plain click help, already placeholder-free
        return
    strings = {
        "COMMANDS_PANEL_TITLE": "Commandes",
        "ARGUMENTS_PANEL_TITLE": "Arguments",
        "OPTIONS_PANEL_TITLE": "Options",
        "DEFAULT_STRING": "[par défaut : {}]",
        "REQUIRED_LONG_STRING": "[obligatoire]",
        "ENVVAR_STRING": "[variable d'environnement : {}]",
        "DEPRECATED_STRING": "(obsolète) ",
        "ERRORS_PANEL_TITLE": "Erreur",
        "ABORTED_TEXT": "Abandon.",
        "RICH_HELP": "Aide : [blue]« {command_path} {help_option} »[/].",
    }
    for name, text in strings.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, text)
