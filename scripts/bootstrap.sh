# Sourced by scripts/run and scripts/test: create ./.venv with Python 3.11+ and install
# the project into it (EXTRAS selects optional dependencies, e.g. "[dev]").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "citizenbot needs Python 3.11 or newer" >&2; exit 1; }
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".${EXTRAS:-}"
