#!/usr/bin/env bash
# Makes sure the machine's PostgreSQL and RabbitMQ answer, starting them with the
# machine's own commands if they do not. Used by .ci/run and `make services`.
set -u

answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if ! answers 127.0.0.1 5432; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! answers 127.0.0.1 5672; then
  echo "RabbitMQ is not answering on 127.0.0.1:5672; starting it"
  rabbitmq-server -detached || true
fi
for _ in $(seq 1 90); do
  if answers 127.0.0.1 5432 && answers 127.0.0.1 5672; then
    # The AMQP port opens before the broker accepts logins; wait for the app too.
    if command -v rabbitmq-diagnostics >/dev/null 2>&1; then
      rabbitmq-diagnostics -q check_running >/dev/null 2>&1 || { sleep 1; continue; }
    fi
    exit 0
  fi
  sleep 1
done
echo "PostgreSQL (127.0.0.1:5432) or RabbitMQ (127.0.0.1:5672) still does not answer" >&2
exit 1
