# shellcheck shell=bash
# Sourced by scripts/demo and scripts/test: make sure the virtualenv exists, holds this
# project with its dev extras, and is first on PATH. Needs only python3 (>= 3.11) and
# access to PyPI on first run; later runs reinstall only when pyproject.toml changes.
#
#   VENV=/some/path ./scripts/test    use another virtualenv (default: .venv in the repo)
#   PYTHON=python3.12 ./scripts/demo  create the virtualenv with that interpreter

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$PROJECT_ROOT"
VENV="${VENV:-$PROJECT_ROOT/.venv}"

_find_python() {
    local candidate
    for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    if ! _python="$(_find_python)"; then
        echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2
        exit 1
    fi
    echo "Creating a virtualenv in $VENV with $("$_python" --version)..." >&2
    if ! "$_python" -m venv "$VENV"; then
        echo "error: could not create the virtualenv (on Debian/Ubuntu: apt-get install python3-venv)." >&2
        exit 1
    fi
fi

# Reinstall only when pyproject.toml (the dependency list) has changed since the last install.
_stamp="$VENV/.returns-portal-installed"
_want="$("$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' pyproject.toml)"
if [ ! -f "$_stamp" ] || [ "$(cat "$_stamp")" != "$_want" ]; then
    echo "Installing the project and its dev dependencies into $VENV (first run takes a few minutes)..." >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
    echo "$_want" >"$_stamp"
fi

export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:$PATH"
unset _python _stamp _want
