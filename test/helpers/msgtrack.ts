/** Running the `msgtrack` command as a child process in tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { eventually } from './wait.ts';

/** The command's entry point. */
export const BIN = new URL('../../bin/msgtrack.js', import.meta.url).pathname;

export interface MsgtrackProcess {
  readonly child: ChildProcess;
  /** Everything it logged so far (pino JSON lines on stderr). */
  stderr(): string;
  /** Its exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

/** Spawn `msgtrack <args>` with `env`: stdout ignored, stderr collected. The caller stops it. */
export function spawnMsgtrack(args: readonly string[], env: NodeJS.ProcessEnv): MsgtrackProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

/**
 * Wait until `p` logged `running; Ctrl-C stops` (up to `timeoutMs`; at once when it exits first) and
 * return its log so far.
 */
export function whenRunning(p: MsgtrackProcess, timeoutMs = 60_000): Promise<string> {
  return eventually('msgtrack to come up', timeoutMs, () => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`msgtrack exited before running: ${p.stderr().slice(-2000)}`);
    }
    return p.stderr().includes('running; Ctrl-C stops') ? p.stderr() : undefined;
  });
}

/** The API's address in a msgtrack log (`api: http://127.0.0.1:PORT ...`). */
export function apiUrlOf(log: string): string {
  const url = /"api: (http:\/\/127\.0\.0\.1:\d+) /.exec(log)?.[1];
  if (url === undefined) throw new Error(`no API address in the log: ${log.slice(-2000)}`);
  return url;
}
