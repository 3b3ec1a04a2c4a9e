"""Running PostgreSQL: the local server, migrations, stats, pgbench."""
