/**
 * The deployment files, checked without a Docker engine: the compose file as docker-compose
 * resolves it, the Dockerfile against the rules that matter, Grafana provisioning and dashboards,
 * and the Prometheus config and rules with promtool.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROCESSOR_NAMES } from '../../src/app/index.ts';
import { ENV, loadConfig } from '../../src/config/index.ts';
import { COMPOSE_ENV, dashboards, readRepoFile, resolvedCompose, run } from './helpers.ts';

const compose = resolvedCompose();
const services = compose.services;
const OUR_IMAGE = `msgtrack:${JSON.parse(readRepoFile('package.json')).version}`;
const ONE_SHOT = ['generator', 'topic-init'];

test('docker-compose config validates the file, and refuses to run without the secrets', () => {
  const ok = run('docker-compose', ['config', '-q'], { env: { ...process.env, ...COMPOSE_ENV } });
  const { API_TOKEN: _unset, ...withoutToken } = COMPOSE_ENV;
  const missing = run('docker-compose', ['config', '-q'], {
    env: { PATH: process.env.PATH, ...withoutToken },
  });
  assert.deepStrictEqual(
    [ok.status, ok.stderr, missing.status, /set API_TOKEN/.test(missing.stderr)],
    [0, '', 1, true],
  );
});

test('every image is pinned to an exact version, none pins a platform', () => {
  const images = Object.entries(services).map(([name, s]) => [name, s.image, s.platform ?? null]);
  const unpinned = images.filter(
    ([, image]) => !/^[\w./-]+:v?\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$/.test(String(image)),
  );
  assert.deepStrictEqual(unpinned, []);
  assert.deepStrictEqual(
    images.filter(([, , platform]) => platform !== null),
    [],
  );
  const ours = Object.entries(services).filter(([, s]) => s.build !== undefined);
  assert.ok(ours.length >= 8);
  assert.deepStrictEqual(new Set(ours.map(([, s]) => s.image)), new Set([OUR_IMAGE]));
});

test('services: health checks that run, one-shot jobs, depends_on on health, restart policies', () => {
  const problems: string[] = [];
  for (const [name, s] of Object.entries(services)) {
    const oneShot = s.restart === 'no';
    if (oneShot !== ONE_SHOT.includes(name)) problems.push(`${name}: restart ${s.restart}`);
    if (!oneShot && s.restart !== 'unless-stopped') problems.push(`${name}: no restart policy`);
    const check = s.healthcheck;
    if (!oneShot && (check?.disable === true || (check?.test?.length ?? 0) < 2)) {
      problems.push(`${name}: no health check`);
    }
    for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
      const target = services[dep];
      const expected = target?.restart === 'no' ? 'service_completed_successfully' : 'service_healthy';
      if (target === undefined || condition !== expected) problems.push(`${name} → ${dep}: ${condition}`);
    }
  }
  assert.deepStrictEqual(problems, []);
});

test('every processor service: /ready as its health check, a target of Prometheus on its PORT', () => {
  const prometheus = JSON.parse(
    run('python3', ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], {
      input: readRepoFile('deploy/prometheus/prometheus.yml'),
    }).stdout,
  ) as { scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[] };
  // service name → the port Prometheus scrapes it on (DNS discovery finds every replica).
  const scraped = new Map(
    prometheus.scrape_configs
      .flatMap((job) => job.dns_sd_configs ?? [])
      .flatMap((sd) => sd.names.map((name) => [name, sd.port] as const)),
  );
  const actual = PROCESSOR_NAMES.map((name) => {
    const s = services[name];
    const port = s?.environment?.PORT;
    return {
      name,
      healthcheck: s?.healthcheck?.test,
      bound: s?.environment?.HOST,
      scrapedOn: scraped.get(name),
      port: String(port),
    };
  });
  assert.deepStrictEqual(
    actual,
    PROCESSOR_NAMES.map((name) => ({
      name,
      healthcheck: ['CMD', 'msgtrack', 'health', '--url', 'http://127.0.0.1:8080'],
      bound: '0.0.0.0',
      scrapedOn: 8080,
      port: '8080',
    })),
  );
  // …and the API, the same way.
  assert.deepStrictEqual(
    [services.api?.healthcheck?.test, scraped.get('api'), String(services.api?.environment?.PORT)],
    [['CMD', 'msgtrack', 'health', '--url', 'http://127.0.0.1:8080'], 8080, '8080'],
  );
});

test('one scalable service per processor; the generator behind a profile; the topics job', () => {
  const processors = PROCESSOR_NAMES.map((name) => {
    const s = services[name];
    return [name, s?.command, s?.ports ?? [], 'container_name' in (s ?? {})];
  });
  assert.deepStrictEqual(
    processors,
    PROCESSOR_NAMES.map((name) => [name, ['process', name], [], false]),
  );
  assert.deepStrictEqual(
    [services.generator?.profiles, services.generator?.command?.[0], services['topic-init']?.command],
    [['generator'], 'generate', ['topics', 'create']],
  );
});

test("the seed's ports, and persistent volumes for Kafka, ClickHouse, Grafana and Prometheus", () => {
  const published = (name: string) =>
    (services[name]?.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.published}:${p.target}`));
  assert.deepStrictEqual(
    {
      api: published('api'),
      grafana: published('grafana'),
      'kafka-ui': published('kafka-ui'),
      clickhouse: published('clickhouse'),
    },
    { api: ['8080:8080'], grafana: ['33000:3000'], 'kafka-ui': ['28080:8080'], clickhouse: ['18123:8123'] },
  );
  const mounts = (name: string) =>
    (services[name]?.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[0] : v.source));
  assert.deepStrictEqual(
    ['kafka', 'clickhouse', 'grafana', 'prometheus'].map((n) => mounts(n).includes(`${n}-data`)),
    [true, true, true, true],
  );
  assert.deepStrictEqual(Object.keys(compose.volumes).sort(), [
    'clickhouse-data',
    'grafana-data',
    'kafka-data',
    'prometheus-data',
  ]);
});

test('our services set only variables the config schema knows; Kafka keeps exactly-once on one broker', () => {
  const known = new Set(Object.keys(ENV));
  const unknown = Object.entries(services)
    .filter(([, s]) => s.image === OUR_IMAGE)
    .flatMap(([name, s]) =>
      Object.keys(s.environment ?? {})
        .filter((k) => !known.has(k))
        .map((k) => `${name}:${k}`),
    );
  assert.deepStrictEqual(unknown, []);
  // …with values the schema accepts (the image's own ENV: DATA_DIR, HOST, PORT).
  const refused = Object.entries(services)
    .filter(([, s]) => s.image === OUR_IMAGE)
    .flatMap(([name, s]) => {
      const env = { DATA_DIR: '/data', HOST: '0.0.0.0', PORT: '8080', ...s.environment };
      try {
        const config = loadConfig(
          Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v ?? '')])),
        );
        return config.storage.kind === 'http' && config.log.kind === 'kafka'
          ? []
          : [`${name}: not Kafka + ClickHouse server`];
      } catch (err) {
        return [`${name}: ${(err as Error).message}`];
      }
    });
  assert.deepStrictEqual(refused, []);
  const kafka = services.kafka?.environment ?? {};
  assert.deepStrictEqual(
    [
      kafka.KAFKA_PROCESS_ROLES,
      String(kafka.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR),
      String(kafka.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR),
      String(kafka.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR),
      services.api?.environment?.API_TOKEN,
    ],
    ['broker,controller', '1', '1', '1', COMPOSE_ENV.API_TOKEN],
  );
});

test('the ClickHouse user of Grafana is read-only and time-bounded', () => {
  const xml = readRepoFile('deploy/clickhouse/users.d/grafana.xml');
  const profile = /<grafana_readonly>([\s\S]*?)<\/grafana_readonly>/.exec(xml)?.[1] ?? '';
  const user = /<users>\s*<grafana>([\s\S]*?)<\/grafana>/.exec(xml)?.[1] ?? '';
  assert.deepStrictEqual(
    [
      /<readonly>([12])<\/readonly>/.exec(profile)?.[1] !== undefined,
      Number(/<max_execution_time>(\d+)<\/max_execution_time>/.exec(profile)?.[1]) > 0,
      /<constraints>[\s\S]*<max_execution_time><max>\d+<\/max><\/max_execution_time>/.test(profile),
      /<profile>grafana_readonly<\/profile>/.test(user),
      /<password from_env="GRAFANA_CLICKHOUSE_PASSWORD"\/>/.test(user),
      services.clickhouse?.environment?.GRAFANA_CLICKHOUSE_PASSWORD,
    ],
    [true, true, true, true, true, COMPOSE_ENV.GRAFANA_CLICKHOUSE_PASSWORD],
  );
});

test("the platform's ClickHouse user may insert into any number of days (message_rows is partitioned by day)", () => {
  const xml = readRepoFile('deploy/clickhouse/users.d/msgtrack.xml');
  const profile = /<profiles>\s*<default>([\s\S]*?)<\/default>/.exec(xml)?.[1] ?? '';
  assert.deepStrictEqual(
    [
      /<max_partitions_per_insert_block>0<\/max_partitions_per_insert_block>/.test(profile),
      (services.clickhouse?.volumes ?? []).some(
        (v) =>
          typeof v === 'string' &&
          v.endsWith(
            '/deploy/clickhouse/users.d/msgtrack.xml:/etc/clickhouse-server/users.d/msgtrack.xml:ro',
          ),
      ),
    ],
    [true, true],
  );
});

/** The Dockerfile rules that matter (no hadolint on Debian 12). */
test('Dockerfile: pinned Node 24 base, production deps, non-root, HEALTHCHECK via msgtrack health, no secrets', () => {
  const lines = readRepoFile('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args = new Map(
    lines
      .filter((l) => l.startsWith('ARG '))
      .map((l) => /^ARG (\w+)=(\S+)/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  const bases = lines
    .filter((l) => l.startsWith('FROM '))
    .map((l) => l.split(/\s+/)[1]!.replace(/^\$\{(\w+)\}$/, (_m, a: string) => args.get(a) ?? a));
  const users = lines.filter((l) => l.startsWith('USER ')).map((l) => l.slice(5).trim());
  const health = lines.find((l) => l.startsWith('HEALTHCHECK ')) ?? '';
  assert.deepStrictEqual(
    {
      bases: bases.map((b) => /^node:24\.\d+\.\d+-[\w-]+(@sha256:[0-9a-f]{64})?$/.test(b)),
      multiStage: bases.length >= 2,
      platform: lines.some((l) => /--platform/.test(l)),
      lastUser: users.at(-1),
      healthcheck: /CMD \["msgtrack", "health"/.test(health),
      npmCi: lines.some((l) => /npm ci --omit=dev/.test(l)),
      secrets: lines.filter((l) => /^(ENV|ARG)\b.*(PASSWORD|TOKEN|SECRET|_KEY)/i.test(l)),
      remoteAdd: lines.filter((l) => /^ADD\s+https?:/.test(l)),
    },
    {
      bases: bases.map(() => true),
      multiStage: true,
      platform: false,
      lastUser: 'node',
      healthcheck: true,
      npmCi: true,
      secrets: [],
      remoteAdd: [],
    },
  );
  // The build context: only what the image needs (no .env, data, node_modules, tests).
  assert.deepStrictEqual(
    readRepoFile('.dockerignore')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#')),
    ['**', '!package.json', '!package-lock.json', '!bin/**', '!src/**'],
  );
});

test('Grafana: provisioned data sources by uid, the plugin pinned, dashboards with stable uids', () => {
  const yaml = run('python3', ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], {
    input: readRepoFile('deploy/grafana/provisioning/datasources/datasources.yml'),
  });
  const sources = (
    JSON.parse(yaml.stdout) as {
      datasources: { uid: string; type: string; jsonData: Record<string, unknown> }[];
    }
  ).datasources;
  const byUid = new Map(sources.map((s) => [s.uid, s.type]));
  assert.deepStrictEqual(Object.fromEntries(byUid), {
    'msgtrack-clickhouse': 'grafana-clickhouse-datasource',
    'msgtrack-prometheus': 'prometheus',
  });
  const ch = sources.find((s) => s.uid === 'msgtrack-clickhouse')!.jsonData;
  assert.deepStrictEqual(
    [ch.host, ch.port, ch.protocol, ch.username],
    ['clickhouse', 8123, 'http', 'grafana'],
  );
  assert.match(
    String(services.grafana?.environment?.GF_PLUGINS_PREINSTALL_SYNC),
    /^grafana-clickhouse-datasource@\d+\.\d+\.\d+$/,
  );

  const all = dashboards();
  assert.deepStrictEqual(
    all.map((d) => d.uid),
    ['msgtrack-messages', 'msgtrack-analytics', 'msgtrack-pipeline'],
  );
  const problems: string[] = [];
  for (const d of all) {
    const ids = d.panels.map((p) => p.id);
    if (new Set(ids).size !== ids.length) problems.push(`${d.uid}: duplicate panel ids`);
    for (const p of d.panels) {
      const where = `${d.uid}/${p.id}`;
      if (byUid.get(p.datasource.uid) !== p.datasource.type)
        problems.push(`${where}: datasource ${p.datasource.uid}`);
      for (const t of p.targets) {
        if (t.datasource.uid !== p.datasource.uid) problems.push(`${where}/${t.refId}: target datasource`);
        const query = p.datasource.type === 'prometheus' ? t.expr : t.rawSql;
        if (query === undefined || query.trim() === '') problems.push(`${where}/${t.refId}: no query`);
        // The plugin's SQL editor: queryType table ↔ format 1, timeSeries ↔ format 0.
        const sql = t as { editorType?: string; queryType?: string; format?: number };
        if (
          p.datasource.type !== 'prometheus' &&
          !(sql.editorType === 'sql' && { table: 1, timeSeries: 0 }[sql.queryType ?? ''] === sql.format)
        ) {
          problems.push(`${where}/${t.refId}: ${sql.editorType} ${sql.queryType} format ${sql.format}`);
        }
      }
    }
  }
  assert.deepStrictEqual(problems, []);
});

test('promtool accepts prometheus.yml and the alert rules, and the rules pass their unit tests', () => {
  const config = run('promtool', ['check', 'config', '--syntax-only', 'deploy/prometheus/prometheus.yml']);
  const rules = run('promtool', ['check', 'rules', 'deploy/prometheus/rules/msgtrack.yml']);
  // Unit tests of the rules: each alert fires on the series meant to raise it, not on the others.
  const unit = run('promtool', ['test', 'rules', 'deploy/prometheus/tests/msgtrack.test.yml']);
  const alerts = [...readRepoFile('deploy/prometheus/rules/msgtrack.yml').matchAll(/- alert: (\w+)/g)].map(
    (m) => m[1],
  );
  assert.deepStrictEqual(
    [config.status, rules.status, /SUCCESS: 5 rules found/.test(rules.stdout), unit.status, alerts],
    [
      0,
      0,
      true,
      0,
      [
        'MsgtrackProcessorLagGrowing',
        'MsgtrackInstanceDown',
        'MsgtrackProcessorDown',
        'MsgtrackDeadLettersRising',
        'MsgtrackSinkSlow',
      ],
    ],
  );
});

test('the image runs on production dependencies: src imports only node: built-ins and dependencies', () => {
  const pkg = JSON.parse(readRepoFile('package.json')) as { dependencies: Record<string, string> };
  const files = run('git', ['ls-files', 'src', 'bin'])
    .stdout.split('\n')
    .filter((f) => /\.(ts|js)$/.test(f));
  const outside = new Set<string>();
  for (const file of files) {
    const text = readRepoFile(file);
    // Value imports only: `import type` and `export type` are erased by type stripping.
    for (const m of text.matchAll(
      /^\s*(?:import|export)(?!\s+type\b)[^'"]*?from\s+'([^'.][^']*)'|import\('([^'.][^']*)'\)/gm,
    )) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith('node:')) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      if (!(name in pkg.dependencies)) outside.add(`${file}: ${spec}`);
    }
  }
  assert.ok(files.length > 50);
  assert.deepStrictEqual([...outside], []);
});

test('deploy/env.example sets every variable the compose file requires, and only variables it reads', () => {
  const file = readRepoFile('docker-compose.yml');
  const used = new Set([...file.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1] as string));
  const required = [...file.matchAll(/\$\{([A-Z_][A-Z0-9_]*):\?/g)].map((m) => m[1] as string);
  const example = [...readRepoFile('deploy/env.example').matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map(
    (m) => m[1] as string,
  );
  assert.deepStrictEqual(
    {
      requiredMissing: [...new Set(required)].filter((v) => !example.includes(v)),
      unused: example.filter((v) => !used.has(v)),
    },
    { requiredMissing: [], unused: [] },
  );
});
