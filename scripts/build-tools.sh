#!/usr/bin/env bash
# Builds the Go command-line tools that the deployment tests use, from the Go module
# proxy, once, into a cache outside the repository:
#
#   scripts/build-tools.sh helm kustomize   # prints each binary's path, one per line
#
# helm renders deploy/helm/logpipe; kustomize builds deploy/kubernetes, the objects the
# chart must match. The cache is $LOGPIPE_TOOLS_DIR (default ~/.cache/logpipe-tools),
# one binary per pinned version, so a rebuild only happens when a pin changes (about a
# minute and a half each on two cores, downloads included). Builds are serialized with
# flock: several test runs (or checkouts) asking at once wait for the first build
# instead of compiling side by side on a small machine. Nothing built here is committed.
set -euo pipefail

HELM_VERSION="${LOGPIPE_HELM_VERSION:-v3.19.5}"
KUSTOMIZE_VERSION="${LOGPIPE_KUSTOMIZE_VERSION:-v5.7.1}"
TOOLS_DIR="${LOGPIPE_TOOLS_DIR:-$HOME/.cache/logpipe-tools}"
mkdir -p "$TOOLS_DIR"

module_of() {
    case "$1" in
        helm) echo "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" ;;
        kustomize) echo "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" ;;
        *) echo "build-tools: unknown tool $1 (helm, kustomize)" >&2; exit 2 ;;
    esac
}

build() {  # build TOOL DESTINATION
    local work
    work="$(mktemp -d "$TOOLS_DIR/build.XXXXXX")"
    # No cgo, no debug information: a smaller, quicker build.
    GOBIN="$work" GOFLAGS="-trimpath" CGO_ENABLED=0 \
        go install -ldflags="-s -w" "$(module_of "$1")" >&2
    mv "$work/$1" "$2"
    rmdir "$work"
}

[[ $# -gt 0 ]] || set -- helm
for tool in "$@"; do
    module="$(module_of "$tool")"
    bin="$TOOLS_DIR/$tool-${module##*@}"
    if [[ ! -x "$bin" ]]; then
        command -v go >/dev/null || { echo "build-tools: go is not on PATH" >&2; exit 1; }
        exec 9>"$TOOLS_DIR/.build.lock"
        flock 9
        # Another build may have finished while this one waited for the lock.
        [[ -x "$bin" ]] || build "$tool" "$bin"
        exec 9>&-
    fi
    echo "$bin"
done
