#!/usr/bin/env bash
# Create the platform's topics (idempotent; fails when an existing topic has other partitions).
# Uses KAFKA_BROKERS when set, the embedded log under DATA_DIR otherwise. Against the compose
# deployment from the host: KAFKA_BROKERS=localhost:29092 scripts/create-topics.sh (the compose
# file's one-shot topic-init service runs the same command inside the network).
set -euo pipefail
cd "$(dirname "$0")/.."
exec npm run -s msgtrack -- topics create "$@"
