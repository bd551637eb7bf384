import sys
from pathlib import Path

# tests/cluster's helpers (charts.py) import by name, like tests/steps.py.
sys.path.insert(0, str(Path(__file__).parent))
