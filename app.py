"""Entry point: the Dash app for `make run`, and `server` for gunicorn (`gunicorn app:server`)."""

from observatory.dashboard.app import create_app

app = create_app()
server = app.server

if __name__ == "__main__":
    settings = app.server.config["OBSERVATORY_SETTINGS"]
    print(f"Tableau de bord : http://{settings.host}:{settings.port}", flush=True)
    app.run(host=settings.host, port=settings.port, debug=False)
