#!/usr/bin/env bash
# Create the platform's topics (idempotent; fails when an existing topic has other partitions).
# Uses KAFKA_BROKERS when set, the embedded log under DATA_DIR otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
exec npm run -s msgtrack -- topics create "$@"
