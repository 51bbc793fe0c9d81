# Sourced by scripts/test.sh and scripts/demo.sh: the project's virtualenv, made on first
# use and reinstalled whenever pyproject.toml is newer than the last install.
#
#   ensure_venv DIR   creates DIR with logpipe and its dev extra; messages go through `say`,
#                     which the sourcing script defines.
ensure_venv() {
  local venv=$1
  local stamp="$venv/.logpipe-dev-installed"
  if [[ ! -x "$venv/bin/python" ]]; then
    say "creating $venv"
    python3 -m venv "$venv"
  fi
  if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
    say "installing logpipe with its dev extra into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]'
    touch "$stamp"
  fi
}
