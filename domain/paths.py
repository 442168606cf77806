"""Where the project's shipped files live (configs/, dbt_project/): relative paths in a source
mapping resolve against this folder."""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
