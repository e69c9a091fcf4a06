# Sourced by ./run and ./test: create or reuse .venv and install what changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtualenv at .venv"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
ensure_requirements() {
  local file="$1" stamp="$VENV/.installed-$(basename "$1")"
  local want; want="$(cat "$ROOT/requirements.txt" "$ROOT/$file" | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing $file"
    "$VENV/bin/pip" install -q -r "$ROOT/$file"
    echo "$want" > "$stamp"
  fi
}
export PATH="$VENV/bin:$PATH"
