"""Many rows at once: binary COPY of Structs, chunked loads, the job worker.

The COPY helpers are importable from here as before the layers became
subpackages (``from yeko_sql.bulk import copy_structs``).
"""

from yeko_sql.bulk.copy import (
    DEFAULT_CHUNK,
    CopyTarget,
    chunked,
    columns_of,
    copy_rows,
    copy_rows_async,
    copy_structs,
    copy_structs_async,
    copy_target,
    copy_target_async,
    index_by,
)

__all__ = [
    "DEFAULT_CHUNK",
    "CopyTarget",
    "chunked",
    "columns_of",
    "copy_rows",
    "copy_rows_async",
    "copy_structs",
    "copy_structs_async",
    "copy_target",
    "copy_target_async",
    "index_by",
]
