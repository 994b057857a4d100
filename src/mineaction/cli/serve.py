"""``mineaction serve``: the web app and API."""

from __future__ import annotations

import click

from mineaction.cli._common import Context, pass_ctx


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="Server log level ('warning' and above turn off the per-request access log).",
)
@click.option(
    "--max-upload-mb",
    type=float,
    default=None,
    help="Largest upload (API imports and the web import page), in MB "
    "[default: $MINEACTION_MAX_UPLOAD_MB or 50].",
)
@pass_ctx
def serve(ctx: Context, host: str, port: int, log_level: str, max_upload_mb: float | None) -> None:
    """Serve the web app, REST API (/api/v1) and OGC API (/ogc) on http://HOST:PORT."""
    import gc
    import logging

    import uvicorn

    from mineaction.web.app import create_app
    from mineaction.web.limits import describe

    ctx.store()  # fail early with a clear message if the database is not ready
    app = create_app(ctx.db_url, max_upload_mb=max_upload_mb)
    # our loggers follow --log-level too: at 'warning' no access log line is even formatted
    logging.getLogger("mineaction").setLevel(log_level.upper())
    # Start-up objects (modules, routes, compiled queries: ~200,000) leave the garbage
    # collector's generations: a full collection walked all of them (~90 ms CPU, 150-330 ms on
    # a busy machine) with every request in flight waiting on the GIL.
    gc.collect()
    gc.freeze()
    click.echo(
        f"serving {ctx.db_url} on http://{host}:{port}  (uploads up to "
        f"{describe(app.state.max_upload_bytes)}; Ctrl-C to stop)"
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level)
