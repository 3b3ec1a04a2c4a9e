"""``python -m yeko_sql`` runs the command line."""

import sys

from yeko_sql.cli.main import main

sys.exit(main())
