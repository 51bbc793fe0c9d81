#!/usr/bin/env bash
# Builds the Go command-line tools that the deployment tests use (helm) from the Go
# module proxy, once, into a cache outside the repository:
#
#   scripts/build-tools.sh            # prints the path of the helm binary
#
# The cache is $LOGPIPE_TOOLS_DIR (default ~/.cache/logpipe-tools), one binary per
# pinned version, so a rebuild only happens when the pin changes. Builds are
# serialized with flock: several test runs (or several checkouts on one machine)
# asking at once wait for the first build instead of compiling side by side on a
# small machine. Nothing built here is committed.
set -euo pipefail

HELM_VERSION="${LOGPIPE_HELM_VERSION:-v3.19.5}"
TOOLS_DIR="${LOGPIPE_TOOLS_DIR:-$HOME/.cache/logpipe-tools}"
mkdir -p "$TOOLS_DIR"

helm_bin="$TOOLS_DIR/helm-$HELM_VERSION"

build_helm() {
    local work
    work="$(mktemp -d "$TOOLS_DIR/build.XXXXXX")"
    # One package at a time and no debug information: a smaller, quicker build.
    GOBIN="$work" GOFLAGS="-trimpath" CGO_ENABLED=0 \
        go install -p 2 -ldflags="-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
    mv "$work/helm" "$helm_bin"
    rmdir "$work"
}

if [[ ! -x "$helm_bin" ]]; then
    command -v go >/dev/null || { echo "build-tools: go is not on PATH" >&2; exit 1; }
    exec 9>"$TOOLS_DIR/.build.lock"
    flock 9
    # Another build may have finished while this one waited for the lock.
    [[ -x "$helm_bin" ]] || build_helm
fi
echo "$helm_bin"
