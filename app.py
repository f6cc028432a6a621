"""Entry point: the Dash app for `make run`, and `server` for gunicorn (`gunicorn app:server`)."""

import sys

from observatory.dashboard.app import create_app

app = create_app()
server = app.server

if __name__ == "__main__":
    from observatory.dashboard import security, serving_mode

    settings = app.server.config["OBSERVATORY_SETTINGS"]
    # Same rule as `observatory serve`: no unprotected dashboard on a non-loopback address.
    problem = security.check_startup(settings, settings.host)
    if problem:
        sys.exit(f"Erreur : {problem}")
    print(f"Tableau de bord : http://{settings.host}:{settings.port}", flush=True)
    # Threads: the ~10 callbacks a page fires on load are answered concurrently (DuckDB and the compression of
    # answers release the GIL) instead of queueing behind each other. One process: the sessions' and the caches'
    # state stays in it (`observatory serve` runs gunicorn for several users).
    app.run(host=settings.host, port=settings.port, debug=False, threaded=True, request_handler=serving_mode.dev_request_handler())
