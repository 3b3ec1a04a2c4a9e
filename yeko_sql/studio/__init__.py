"""yeko-sql studio: the named queries, their plans and their health, in a local page.

``yeko-sql studio`` (``yeko_sql.cli.studio``) serves ``create_app`` on
127.0.0.1 with uvicorn. Install the extra: ``pip install 'yeko-sql[studio]'``.
docs/studio.md describes the pages and the safety rules.
"""

from __future__ import annotations

__all__: list[str] = []
