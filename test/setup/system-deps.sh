#!/usr/bin/env bash
# Makes sure what the tests need from the machine is there: the Redis and PostgreSQL services this
# machine kind provides (started if they stopped) and Debian packages the tests use.
set -euo pipefail

# The Redis store's tests start and kill their own redis-server (and build a cluster with redis-cli),
# so both binaries must be on PATH.
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi

# promtool and prometheus (Debian's "prometheus" package): @phlow/otel runs `promtool check/test rules` on
# its alert rules and scrapes a breaker with a real Prometheus server. Only the binaries are used; the
# package's own service is not needed (tests start their own server on a free port).
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# Chromium (Debian's "chromium"): the demo agent's end-to-end test (test/e2e) drives its dashboard with
# playwright-core, executablePath /usr/bin/chromium (`npx playwright install` cannot download here).
if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
