"""``yeko-sql studio``: the local web app over the queries (``yeko_sql.studio``).

Imports happen in the handler, so ``yeko-sql --help`` stays fast and works
without the ``studio`` extra installed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from yeko_sql.cli._options import (
    MODELS,
    PATHS,
    URL,
    Command,
    config_of,
    models_of,
    opt,
    paths_of,
    url_of,
)

__all__ = ["COMMANDS", "studio"]


def studio(args: argparse.Namespace) -> int:
    """Serve the studio on 127.0.0.1 until interrupted."""
    try:
        import uvicorn

        from yeko_sql.ops.devserver import free_port
        from yeko_sql.studio.app import StudioConfig, create_app
    except ImportError as exc:
        print(
            f"yeko-sql: the studio needs its extra ({exc.name} is missing):"
            " pip install 'yeko-sql[studio]'",
            file=sys.stderr,
        )
        return 2
    config = config_of(args)
    port = args.port or free_port()
    studio_config = StudioConfig(
        url=url_of(args),
        paths=paths_of(args),
        models=models_of(args),
        app_role=config.app_role,
        tenant_column=config.tenant_column,
        port=port,
        allow_writes=args.allow_writes,
        sql_console=args.sql_console,
        snippets_dir=Path(args.snippets),
        snapshot_every=args.snapshot_every,
    )
    app = create_app(studio_config)
    print(
        f"yeko-sql studio on http://127.0.0.1:{port}/?token={studio_config.token}",
        flush=True,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    return 0


COMMANDS = [
    Command(
        "studio",
        studio,
        "a local web app: the queries, runs, plans and health (127.0.0.1 only)",
        [
            PATHS,
            MODELS,
            URL,
            opt("--port", type=int, default=0, help="default: a free port"),
            opt(
                "--allow-writes",
                action="store_true",
                help="run writes on a database not named as a dev one",
            ),
            opt(
                "--sql-console",
                action="store_true",
                help="add a page that runs any SQL (off by default)",
            ),
            opt(
                "--snippets",
                default="studio-snippets",
                help="folder of saved snippets (default: studio-snippets)",
            ),
            opt(
                "--snapshot-every",
                type=float,
                default=60.0,
                help="seconds between health snapshots (default 60; 0: only on view)",
            ),
        ],
    )
]
