# Sourced by scripts/test.sh and scripts/demo.sh: the project's virtualenv, made on first
# use and reinstalled whenever pyproject.toml is newer than the last install.
#
#   ensure_venv DIR   creates DIR with logpipe and its dev extra, and builds the native
#                     module (native/, Rust) into it; messages go through `say`, which the
#                     sourcing script defines.
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
  ensure_native "$venv"
}

# The native module (logpipe_native, docs/native.md), rebuilt whenever a file under native/
# is newer than the last build. Without cargo logpipe still runs (every pipeline then takes
# the event path), except under CI=true, where a missing toolchain fails the run.
ensure_native() {
  local venv=$1
  local stamp="$venv/.logpipe-native-installed"
  if [[ -f "$stamp" && -z "$(find native -type f -newer "$stamp" -not -path 'native/target/*' -print -quit)" ]]; then
    return 0
  fi
  if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    if [[ "${CI:-}" == "true" ]]; then
      say "cargo (Rust) is not installed: CI builds and tests the native module"
      return 1
    fi
    say "cargo (Rust) is not installed: logpipe runs without its native module"
    return 0
  fi
  say "building the native module (native/) into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check ./native
  touch "$stamp"
}
