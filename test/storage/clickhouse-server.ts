import { type ChildProcess, spawn } from 'node:child_process';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inTempDir } from './helpers.ts';

/** Debian's package puts the server here (scripts/ci-install-system.sh installs it in CI). */
export const CLICKHOUSE_SERVER_BIN = process.env['CLICKHOUSE_SERVER_BIN'] ?? '/usr/sbin/clickhouse-server';

export interface RunningServer {
  url: string;
  user: string;
  password: string;
  /** Stops the server and waits for it to exit (idempotent). */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Starts a real ClickHouse server process on free loopback ports with a temporary config and data
 * directory, and a user `msgtrack` with a password. Stopped after the test. A missing binary fails
 * the test with instructions: it is not a reason to skip.
 */
export async function startClickHouseServer(t: TestContext): Promise<RunningServer> {
  try {
    await access(CLICKHOUSE_SERVER_BIN);
  } catch {
    throw new Error(
      `ClickHouse server binary not found at ${CLICKHOUSE_SERVER_BIN}: run scripts/ci-install-system.sh ` +
        '(apt-get install clickhouse-server) or set CLICKHOUSE_SERVER_BIN',
    );
  }
  let stop: () => Promise<void> = async () => undefined;
  // One after-hook: stop the server, then remove its directory.
  const { dir } = await inTempDir(
    t,
    'clickhouse-server-',
    async () => undefined,
    () => stop(),
  );
  const [httpPort, tcpPort] = [await freePort(), await freePort()];
  const password = `pw-${process.pid}-${httpPort}`;
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas']) await mkdir(join(dir, sub));
  await writeFile(
    join(dir, 'config.xml'),
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
</yandex>
`,
  );
  const user = (name: string, pw: string): string =>
    `<${name}><password>${pw}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></${name}>`;
  await writeFile(
    join(dir, 'users.xml'),
    `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>1000000000</max_memory_usage></default></profiles>
  <users>${user('default', `${password}-default`)}${user('msgtrack', password)}</users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`,
  );
  let output = '';
  const child: ChildProcess = spawn(CLICKHOUSE_SERVER_BIN, [`--config-file=${join(dir, 'config.xml')}`], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  stop = async (): Promise<void> => {
    if (!running) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const url = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!running) throw new Error(`clickhouse-server exited during start-up:\n${output.slice(-2000)}`);
    try {
      const res = await fetch(`${url}/ping`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`clickhouse-server did not answer /ping in 30 s:\n${output.slice(-2000)}`);
    await sleep(100);
  }
  return { url, user: 'msgtrack', password, stop };
}
