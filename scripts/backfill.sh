#!/usr/bin/env bash
# One run of the uptime job, now, in an environment's ECS cluster: go run ./ops backfill --help.
exec "$(dirname "$0")/lib/ops.sh" backfill "$@"
