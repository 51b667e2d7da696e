#!/usr/bin/env bash
# Is a running instance healthy? Exit 0 when its /ready says ready, 1 (with the reasons) otherwise.
# Default target http://HOST:PORT from the environment; against the compose deployment the API is
# published on http://127.0.0.1:8080 (the default). Options go to `msgtrack health` (--url, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
exec npm run -s msgtrack -- health "$@"
