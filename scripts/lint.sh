#!/usr/bin/env bash
# Lint gates: golangci-lint on every Go package of the module (.golangci.yml), shellcheck on
# every script in scripts/ and scripts/lib/, actionlint on every workflow in .github/workflows/.
# Each tool is installed when missing, at the version pinned below: the Go tools with
# `go install` into a per-user cache outside the checkout (one directory per version, so a
# version bump reinstalls by itself and a fresh clone reuses what an earlier one built), and
# Debian's shellcheck package when running as root.
#
# Usage: scripts/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

GOLANGCI_LINT_VERSION=v2.15.0 # github.com/golangci/golangci-lint/v2
ACTIONLINT_VERSION=v1.7.12    # github.com/rhysd/actionlint

command -v go >/dev/null 2>&1 || { echo "lint: Go is missing: install Go 1.26 (https://go.dev/dl) and rerun." >&2; exit 1; }

# go_tool NAME MODULE/CMD VERSION prints the path of the pinned binary, installing it first.
go_tool() {
	local name=$1 pkg=$2 version=$3
	local dir=${TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tally-uptime-tools}/$name@$version
	if [[ ! -x $dir/$name ]]; then
		echo "== installing $name $version into $dir" >&2
		GOBIN=$dir GOFLAGS=-mod=mod go install "$pkg@$version" >&2
	fi
	echo "$dir/$name"
}

# ---- Go ---------------------------------------------------------------------

golangci_lint=$(go_tool golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint "$GOLANGCI_LINT_VERSION")
# ./... is every package of the module: go.mod's ignore directive keeps npm's node_modules/ out.
echo "== golangci-lint $GOLANGCI_LINT_VERSION"
"$golangci_lint" run ./...

# ---- shell ------------------------------------------------------------------

if ! command -v shellcheck >/dev/null 2>&1; then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		echo "== installing Debian's shellcheck package" >&2
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
	else
		echo "lint: shellcheck is missing; install it (sudo apt-get install -y shellcheck, or brew install shellcheck) and rerun." >&2
		exit 1
	fi
fi
mapfile -t shell_scripts < <(find scripts -type f \( -name '*.sh' -o -perm -u+x \) ! -name '*.go' | sort)
echo "== shellcheck $(shellcheck --version | awk '/^version:/ {print $2}') on ${#shell_scripts[@]} script(s)"
# -x follows the `source` lines (scripts/lib/postgres.sh) with their `shellcheck source=` paths.
shellcheck -x "${shell_scripts[@]}"

# ---- GitHub Actions -----------------------------------------------------------

actionlint=$(go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION")
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
shopt -u nullglob
echo "== actionlint $ACTIONLINT_VERSION on ${#workflows[@]} workflow(s) (shellcheck on their run: blocks)"
if ((${#workflows[@]} > 0)); then
	"$actionlint" -shellcheck "$(command -v shellcheck)" "${workflows[@]}"
fi
echo "lint: clean"
