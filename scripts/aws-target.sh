#!/usr/bin/env bash
# A workflow job's region and role in one environment, as GitHub step outputs: go run ./ops target --help.
exec "$(dirname "$0")/lib/ops.sh" target "$@"
