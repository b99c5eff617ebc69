# shellcheck shell=bash
# Puts the Node.js line of .nvmrc (the current LTS) first on PATH for the CDK CLI, jsii (the Go
# CDK runs its JavaScript in `node`) and the schema check. When the machine's own node is another
# major, the npm registry's `node` package of that line (it ships the official binaries) is
# installed once into .tools/node-<major> (ignored by git) and used from there. Source this file
# from the repository root, then call `use_lts_node`.

# node_major prints the major version of the node at $1 (default: the one on PATH), or nothing.
node_major() {
  "${1:-node}" --version 2>/dev/null | sed -n 's/^v\([0-9][0-9]*\)\..*/\1/p'
}

use_lts_node() {
  local want have dir current
  want=$(tr -dc '0-9' <.nvmrc)
  [ -n "$want" ] || { echo ".nvmrc names no Node.js major version." >&2; return 1; }
  have=$(node_major)
  [ "$have" = "$want" ] && return 0
  dir=.tools/node-$want
  if [ "$(node_major "$dir/node_modules/.bin/node")" != "$want" ]; then
    command -v npm >/dev/null 2>&1 || {
      echo "Node.js $want (.nvmrc) is needed and npm is missing to fetch it: install Node.js $want with npm and rerun." >&2
      return 1
    }
    current="no node"
    [ -z "$have" ] || current="node $have"
    echo "== Node.js $want (.nvmrc) from the npm registry's node package into $dir (this machine has $current)"
    rm -rf "$dir"
    npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error --prefix "$dir" "node@$want" >&2 || {
      echo "Could not install Node.js $want from the npm registry: install Node.js $want (see .nvmrc) and rerun." >&2
      return 1
    }
  fi
  PATH="$PWD/$dir/node_modules/.bin:$PATH"
  export PATH
}
