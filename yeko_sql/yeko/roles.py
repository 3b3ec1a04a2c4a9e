"""Yeko's database roles, created by its migrations (0036, 0038, 0044).

The toolkit knows only the owner (``yeko_sql.ops.serverurl.OWNER``) and the
app role an app declares (``[tool.yeko-sql] app_role``); these are Yeko's.
"""

from __future__ import annotations

__all__ = ["ANALYTICS_ROLE", "APP_ROLE", "PLATFORM_ROLE"]

APP_ROLE = "yeko_app"
"""The application's role: sees one school's rows, inside ``for_school``."""
PLATFORM_ROLE = "yeko_platform"
"""The cross-school platform paths: school picker, school lookup, the job worker."""
ANALYTICS_ROLE = "yeko_analytics"
"""Read-only reporting across schools."""
