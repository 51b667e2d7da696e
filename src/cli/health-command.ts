import { loadConfig } from '../config/index.ts';
import type { Command } from './command.ts';

/** Longest wait for the instance to answer, ms. */
const TIMEOUT_MS = 5_000;

/**
 * `msgtrack health [--url URL]`: asks a running instance's `/ready` (default: http://HOST:PORT from
 * the environment). Exit 0 when it is ready, 1 otherwise, with the reasons on stderr.
 */
export const healthCommand: Command = {
  name: 'health',
  summary: 'Check a running instance (/ready): exit 0 when healthy, 1 with the reasons when not.',
  options: {
    url: { type: 'string', description: 'Base URL of the instance (default http://HOST:PORT)' },
    json: { type: 'boolean', description: 'Print the readiness document as JSON', default: false },
  },
  async run(args) {
    const config = loadConfig();
    const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
    const base = String(args.values.url ?? `http://${host}:${config.api.port}`).replace(/\/+$/, '');
    let status: number;
    let body: { status?: string; checks?: Record<string, { ok: boolean; reason?: string }> };
    try {
      const res = await fetch(`${base}/ready`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      status = res.status;
      body = (await res.json().catch(() => ({}))) as typeof body;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      process.stderr.write(`msgtrack health: ${base} does not answer (${cause})\n`);
      return 1;
    }
    if (args.values.json === true) process.stdout.write(`${JSON.stringify(body)}\n`);
    const failing = Object.entries(body.checks ?? {}).filter(([, c]) => !c.ok);
    if (status === 200 && body.status === 'ready') {
      if (args.values.json !== true)
        process.stdout.write(`healthy: ${base} (${Object.keys(body.checks ?? {}).join(', ')})\n`);
      return 0;
    }
    process.stderr.write(`unhealthy: ${base} answered ${status}\n`);
    for (const [name, c] of failing) process.stderr.write(`  ${name}: ${c.reason ?? 'failing'}\n`);
    return 1;
  },
};
