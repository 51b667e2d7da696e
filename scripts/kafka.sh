#!/usr/bin/env bash
# A real Apache Kafka broker for tests and local runs: the broker's jars from Maven Central, run with
# the machine's Java (17+) in KRaft combined mode (broker + controller, one node) on 127.0.0.1.
# Transaction and offsets topics have replication factor 1 so exactly-once works on one broker.
#
#   scripts/kafka.sh start   fetch (once), format (once) and start; waits until the port answers
#   scripts/kafka.sh stop    stop the broker started from this directory
#   scripts/kafka.sh status  exit 0 when the broker answers
#
# Environment: KAFKA_VERSION (default 4.1.1), KAFKA_HOME (default .kafka; relative to the repo or
# absolute: a second broker for destructive tests gets its own), KAFKA_PORT (default 19092; the
# controller takes the next port), KAFKA_ADVERTISED_PORT (default KAFKA_PORT: a test's TCP proxy
# in front of the broker advertises its own port), KAFKA_QUICK_JVM (1: start the broker's JVM for a
# short life, faster, C1 only; for the brokers single tests start), KAFKA_SETTINGS (`test`, default: the quick
# retention and cleaner checks below; `stock`: the broker's defaults, for benchmarks: the test
# settings cost ~40 % of a core when idle), KAFKA_SASL_PORT (unset: none; else a SASL_SSL listener
# there: a self-signed CA and broker certificate made with the JDK's keytool in KAFKA_HOME/tls
# (clients trust tls/ca.pem), SCRAM-SHA-256/512 user alice / alice-secret created at format time,
# PLAIN user alice too, and OAUTHBEARER with Kafka's unsecured JWS validator: any unsigned token
# (`{"alg":"none"}` header) with a `sub` and an `exp` in the future), KAFKA_MTLS_PORT (unset: none;
# else an SSL listener there that requires a client certificate signed by the same CA: tls/client.pem
# and tls/client-key.pem are made for clients). The jars are fetched once into .kafka/libs-<version>.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${KAFKA_VERSION:-4.1.1}"
case "${KAFKA_HOME:-.kafka}" in
  /*) HOME_DIR="$KAFKA_HOME" ;;
  *) HOME_DIR="$(pwd)/${KAFKA_HOME:-.kafka}" ;;
esac
PORT="${KAFKA_PORT:-19092}"
ADVERTISED_PORT="${KAFKA_ADVERTISED_PORT:-$PORT}"
SETTINGS="${KAFKA_SETTINGS:-test}"
SASL_PORT="${KAFKA_SASL_PORT:-}"
MTLS_PORT="${KAFKA_MTLS_PORT:-}"
SCRAM_USER=alice
SCRAM_PASSWORD=alice-secret
CONTROLLER_PORT=$((PORT + 1))
LIBS="$(pwd)/.kafka/libs-$VERSION"
DATA="$HOME_DIR/data"
PIDFILE="$HOME_DIR/broker.pid"
# Short-lived JVMs (format, certificates) and test brokers: start-up time over peak speed.
QUICK_JVM=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)

fetch() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v mvn >/dev/null || { echo "kafka.sh: Maven (mvn) is needed to fetch the broker's jars" >&2; exit 1; }
  command -v java >/dev/null || { echo "kafka.sh: Java 17+ is needed to run the broker" >&2; exit 1; }
  mkdir -p "$HOME_DIR" "$(dirname "$LIBS")"
  cat > "$HOME_DIR/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.msgtrack</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$VERSION</version></dependency>
  </dependencies>
</project>
POM
  echo "kafka.sh: fetching Apache Kafka $VERSION from Maven Central…"
  # Into a folder of its own, then renamed: brokers started at the same time (tests, a fresh clone)
  # each fetch, and none may start on jars another fetch is still rewriting.
  local part="$LIBS.part-$$"
  rm -rf "$part"
  mvn -q -B -f "$HOME_DIR/pom.xml" dependency:copy-dependencies -DoutputDirectory="$part" -DincludeScope=runtime
  touch "$part/.complete"
  if [ -f "$LIBS/.complete" ]; then
    rm -rf "$part"
  else
    rm -rf "$LIBS"
    mv -T "$part" "$LIBS" 2>/dev/null || rm -rf "$part"
  fi
  [ -f "$LIBS/.complete" ] || { echo "kafka.sh: fetching the broker's jars failed" >&2; exit 1; }
}

answering() { (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# A CA, a broker certificate for 127.0.0.1/localhost and a client certificate (CN=msgtrack-client),
# both signed by it, and a truststore with the CA (made once per KAFKA_HOME): the keytool steps run
# in one JVM (sun.security.tools.keytool.Main; a JVM start per step costs seconds), and the client's
# key is written as PEM (PKCS#8) there too: keytool cannot export private keys.
make_tls() {
  local dir="$HOME_DIR/tls"
  [ -f "$dir/client-key.pem" ] && return 0
  command -v java >/dev/null || { echo "kafka.sh: Java 17+ is needed for KAFKA_SASL_PORT/KAFKA_MTLS_PORT" >&2; exit 1; }
  mkdir -p "$dir"
  cat > "$dir/Tls.java" <<'JAVA'
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Base64;
import sun.security.tools.keytool.Main;

public class Tls {
  static final String P = "changeit";
  static String dir;
  static void keytool(String... args) throws Exception { Main.main(args); }
  static String f(String name) { return dir + "/" + name; }
  public static void main(String[] a) throws Exception {
    dir = a[0];
    keytool("-genkeypair", "-alias", "ca", "-dname", "CN=msgtrack-test-ca", "-keyalg", "RSA", "-keysize", "2048", "-validity", "365", "-ext", "bc:c", "-keystore", f("ca.p12"), "-storetype", "PKCS12", "-storepass", P);
    keytool("-exportcert", "-alias", "ca", "-keystore", f("ca.p12"), "-storepass", P, "-rfc", "-file", f("ca.pem"));
    for (String who : new String[] {"broker", "client"}) {
      String dname = who.equals("broker") ? "CN=localhost" : "CN=msgtrack-client";
      keytool("-genkeypair", "-alias", who, "-dname", dname, "-keyalg", "RSA", "-keysize", "2048", "-validity", "365", "-keystore", f(who + ".p12"), "-storetype", "PKCS12", "-storepass", P);
      keytool("-certreq", "-alias", who, "-keystore", f(who + ".p12"), "-storepass", P, "-file", f(who + ".csr"));
      if (who.equals("broker"))
        keytool("-gencert", "-alias", "ca", "-keystore", f("ca.p12"), "-storepass", P, "-infile", f(who + ".csr"), "-outfile", f(who + ".pem"), "-rfc", "-validity", "365", "-ext", "SAN=dns:localhost,ip:127.0.0.1");
      else
        keytool("-gencert", "-alias", "ca", "-keystore", f("ca.p12"), "-storepass", P, "-infile", f(who + ".csr"), "-outfile", f(who + ".pem"), "-rfc", "-validity", "365");
    }
    keytool("-importcert", "-alias", "ca", "-file", f("ca.pem"), "-keystore", f("broker.p12"), "-storepass", P, "-noprompt");
    keytool("-importcert", "-alias", "broker", "-file", f("broker.pem"), "-keystore", f("broker.p12"), "-storepass", P);
    keytool("-importcert", "-alias", "ca", "-file", f("ca.pem"), "-keystore", f("truststore.p12"), "-storetype", "PKCS12", "-storepass", P, "-noprompt");
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (FileInputStream in = new FileInputStream(f("client.p12"))) { ks.load(in, P.toCharArray()); }
    byte[] der = ks.getKey("client", P.toCharArray()).getEncoded();
    String body = Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der);
    Files.writeString(Path.of(f("client-key.pem")), "-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n");
  }
}
JAVA
  java "${QUICK_JVM[@]}" --add-exports java.base/sun.security.tools.keytool=ALL-UNNAMED "$dir/Tls.java" "$dir" >"$dir/keytool.log" 2>&1 ||
    { echo "kafka.sh: making the test CA and certificates failed; see $dir/keytool.log" >&2; exit 1; }
}

# A cluster id (Kafka's Uuid: 16 random bytes, base64url without padding, not starting with '-'),
# made here rather than by a JVM (`StorageTool random-uuid`).
cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    [ "${id:0:1}" != "-" ] && { echo "$id"; return; }
  done
}

start() {
  if answering; then echo "kafka.sh: a broker already answers on 127.0.0.1:$PORT"; return 0; fi
  [ "$SETTINGS" = test ] || [ "$SETTINGS" = stock ] || { echo "kafka.sh: KAFKA_SETTINGS must be test or stock" >&2; exit 2; }
  fetch
  mkdir -p "$HOME_DIR"
  local listeners="PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT"
  local advertised="PLAINTEXT://127.0.0.1:$ADVERTISED_PORT"
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [ -n "$SASL_PORT" ]; then
    make_tls
    listeners="$listeners,SASL_SSL://127.0.0.1:$SASL_PORT"
    advertised="$advertised,SASL_SSL://127.0.0.1:$SASL_PORT"
    protocols="$protocols,SASL_SSL:SASL_SSL"
  fi
  if [ -n "$MTLS_PORT" ]; then
    make_tls
    listeners="$listeners,SSL://127.0.0.1:$MTLS_PORT"
    advertised="$advertised,SSL://127.0.0.1:$MTLS_PORT"
    protocols="$protocols,SSL:SSL"
  fi
  cat > "$HOME_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$DATA
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
PROPS
  [ -z "$SASL_PORT$MTLS_PORT" ] || cat >> "$HOME_DIR/server.properties" <<PROPS
ssl.keystore.location=$HOME_DIR/tls/broker.p12
ssl.keystore.type=PKCS12
ssl.keystore.password=changeit
ssl.key.password=changeit
PROPS
  # OAUTHBEARER without a server callback handler: Kafka's unsecured JWS validator.
  [ -z "$SASL_PORT" ] || cat >> "$HOME_DIR/server.properties" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN,OAUTHBEARER
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SCRAM_USER="$SCRAM_PASSWORD";
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";
PROPS
  [ -z "$MTLS_PORT" ] || cat >> "$HOME_DIR/server.properties" <<PROPS
listener.name.ssl.ssl.client.auth=required
listener.name.ssl.ssl.truststore.location=$HOME_DIR/tls/truststore.p12
listener.name.ssl.ssl.truststore.type=PKCS12
listener.name.ssl.ssl.truststore.password=changeit
PROPS
  [ "$SETTINGS" = stock ] || cat >> "$HOME_DIR/server.properties" <<PROPS
# Retention and compaction quick enough for tests (the Log conformance suite waits for them):
# retention checked every 500 ms; a compacted topic's active segment rolls on the first append 500 ms
# after its first record (the active segment is never compacted); the cleaner polls every 200 ms and
# cleans any dirty ratio. Delete-policy topics keep the default 7-day segments.
log.retention.check.interval.ms=500
log.initial.task.delay.ms=0
log.cleaner.max.compaction.lag.ms=500
log.cleaner.backoff.ms=200
log.cleaner.min.cleanable.ratio=0.01
log.cleaner.dedupe.buffer.size=16777216
PROPS
  cat > "$HOME_DIR/log4j2.properties" <<'LOG'
rootLogger.level=WARN
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName=${sys:kafka.logs.dir}/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
LOG
  if [ ! -f "$DATA/meta.properties" ]; then
    local scram=()
    [ -z "$SASL_PORT" ] || scram=(--add-scram "SCRAM-SHA-256=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]" \
      --add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]")
    java "${QUICK_JVM[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format -t "$(cluster_id)" \
      -c "$HOME_DIR/server.properties" "${scram[@]}" >/dev/null 2>&1
  fi
  # KAFKA_QUICK_JVM=1 (short-lived brokers of single tests): a JVM that starts fast (C1 only,
  # serial GC: about 40 % less start-up time on a loaded 2-core machine) but runs slower after.
  local jvm=()
  [ "${KAFKA_QUICK_JVM:-}" != 1 ] || jvm=("${QUICK_JVM[@]}")
  nohup java "${jvm[@]}" -Xms256m -Xmx768m -Dkafka.logs.dir="$HOME_DIR" -Dlog4j2.configurationFile="$HOME_DIR/log4j2.properties" \
    -cp "$LIBS/*" kafka.Kafka "$HOME_DIR/server.properties" >"$HOME_DIR/stdout.log" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 120); do
    if answering; then echo "kafka.sh: Apache Kafka $VERSION on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; return 0; fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { echo "kafka.sh: the broker exited; see $HOME_DIR/stdout.log" >&2; tail -20 "$HOME_DIR/stdout.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "kafka.sh: the broker did not answer within 60 s; see $HOME_DIR/stdout.log" >&2
  exit 1
}

stop() {
  [ -f "$PIDFILE" ] || return 0
  kill "$(cat "$PIDFILE")" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$(cat "$PIDFILE")" 2>/dev/null || true
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) answering ;;
  -h|--help|help) sed -n '2,/^set -euo/p' scripts/kafka.sh | sed '$d; s/^# \{0,1\}//' ;;
  *) echo "usage: scripts/kafka.sh start|stop|status (--help: what each does and the environment)" >&2; exit 2 ;;
esac
