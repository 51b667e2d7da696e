#!/usr/bin/env bash
# Debian packages the test suite needs, installed only when missing (CI may run on a fresh machine).
set -euo pipefail
PACKAGES=(
  # clickhouse-server: a real ClickHouse server process for the HTTP adapter's transport test
  # (test/storage/http.test.ts starts /usr/sbin/clickhouse-server itself, on free loopback ports)
  clickhouse-server
  # kcat: an independent Kafka client (librdkafka) that checks our partitioning against Java's murmur2
  # (test/log/kafka/partitioning.test.ts)
  kcat
  # docker-compose: validates docker-compose.yml (`docker-compose config`) in test/deploy (no engine runs)
  docker-compose
  # prometheus: promtool checks deploy/prometheus, and a real Prometheus scrapes `msgtrack start`
  # (test/deploy)
  prometheus
  # chromium: the headless browser the dashboard tests drive through playwright-core
  # (test/dashboard/*.test.ts launch /usr/bin/chromium; no browser download by playwright)
  chromium
)
need=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
