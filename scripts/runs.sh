#!/usr/bin/env bash
# The last runs of the job in an environment, newest first: go run ./ops runs --help.
exec "$(dirname "$0")/lib/ops.sh" runs "$@"
