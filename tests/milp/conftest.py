import sys
from pathlib import Path

_here = Path(__file__).resolve().parent
_root = _here.parents[1]
for p in (str(_here), str(_root)):  # milp_helpers, and planner when it is not installed
    if p not in sys.path:
        sys.path.insert(0, p)
