"""``observatory serve``: the dashboard in production (gunicorn, debug off)."""

from __future__ import annotations

import typer

from observatory.commands.common import console, fail, settings_or_fail


def serve(
    host: str = typer.Option(None, "--host", metavar="ADRESSE", help="Adresse d'écoute (par défaut : le réglage « host »)."),
    port: int = typer.Option(None, "--port", metavar="PORT", help="Port d'écoute (par défaut : le réglage « port »)."),
    workers: int = typer.Option(2, "--workers", min=1, metavar="NOMBRE", help="Nombre de processus gunicorn."),
    threads: int = typer.Option(4, "--threads", min=1, metavar="NOMBRE", help="Fils par processus, soit autant de requêtes servies à la fois."),
    timeout: int = typer.Option(60, "--timeout", min=5, metavar="SECONDES", help="Secondes de silence avant qu'un processus soit relancé."),
) -> None:
    """Servir le tableau de bord avec gunicorn (plusieurs utilisateurs à la fois, sans débogueur ni rechargement automatique)."""
    settings = settings_or_fail()
    host = host or settings.host
    port = port or settings.port
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        fail("gunicorn n'est pas installé : pip install 'gunicorn>=23'")
    try:
        from observatory.dashboard import security

        problem = security.check_startup(settings, host) if hasattr(security, "check_startup") else None
    except ImportError:
        problem = None
    if problem:
        fail(problem)

    class _Server(BaseApplication):  # gunicorn's documented way to embed it
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", timeout)
            self.cfg.set("accesslog", "-")
            # Each worker builds its own app after the fork: DuckDB connections are never shared across processes.
            self.cfg.set("preload_app", False)

        def load(self):  # noqa: ANN202
            from observatory.dashboard.app import create_app

            return create_app(settings).server

    console.print(f"Tableau de bord : http://{host}:{port} ({workers} processus × {threads} fils, debug désactivé)")
    _Server().run()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
