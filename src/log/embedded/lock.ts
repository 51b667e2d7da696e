/**
 * One process owns a data dir: an OS-level `flock(2)` on `<dir>/LOCK`, held for the life of the
 * process (or until `release`). The lock belongs to the open file description, so it holds across
 * pid namespaces and containers sharing the volume, and the kernel drops it when the process dies,
 * even by SIGKILL — there is no stale lock to take over. The file also holds the owner's pid, for
 * the operator's information only.
 *
 * Node has no flock API, so the lock is taken by `flock(1)` (util-linux) on our own descriptor
 * passed as its fd 3: the child locks the shared open file description and exits; the lock stays
 * with our descriptor. Readers (`readOnly` opens) take a shared lock: any number of them, never with
 * a writer. A second open in this process is refused too.
 */

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppError, ErrorCode } from '../../errors/index.ts';

/** Directories locked by this process (a second open in the same process is refused too). */
const heldHere = new Set<string>();
const FLOCK = '/usr/bin/flock';
const CONFLICT_EXIT = 75;

export type LockMode = 'exclusive' | 'shared';

function lockedError(dir: string, pid: number | undefined): AppError {
  const owner =
    pid === undefined ? 'another process' : `process ${pid} (as it recorded; maybe in another pid namespace)`;
  return new AppError(
    ErrorCode.LOG_LOCKED,
    `data dir ${dir} is locked by ${owner}; stop it or use another data dir`,
    { context: { dataDir: dir, pid: pid ?? null } },
  );
}

export interface DirLock {
  release(): void;
}

export function acquireLock(dir: string, mode: LockMode = 'exclusive'): DirLock {
  const abs = path.resolve(dir);
  const file = path.join(abs, 'LOCK');
  if (heldHere.has(abs)) throw lockedError(abs, process.pid);
  // Read-only opens may not be able to create the file; an existing one is enough to lock.
  const fd = fs.openSync(
    file,
    mode === 'exclusive' ? fs.constants.O_RDWR | fs.constants.O_CREAT : fs.constants.O_RDONLY,
    0o644,
  );
  let locked = false;
  try {
    const r = spawnSync(
      FLOCK,
      [
        mode === 'exclusive' ? '--exclusive' : '--shared',
        '--nonblock',
        '--conflict-exit-code',
        String(CONFLICT_EXIT),
        '3',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe', fd],
      },
    );
    if (r.error !== undefined) {
      throw new AppError(
        ErrorCode.LOG_IO,
        `cannot lock ${file}: ${FLOCK} (util-linux) is needed: ${r.error.message}`,
        {
          cause: r.error,
          context: { dataDir: abs },
        },
      );
    }
    if (r.status === CONFLICT_EXIT) throw lockedError(abs, readPid(file));
    if (r.status !== 0) {
      throw new AppError(
        ErrorCode.LOG_IO,
        `cannot lock ${file}: ${r.stderr.toString().trim() || `flock exited ${r.status}`}`,
        {
          context: { dataDir: abs },
        },
      );
    }
    locked = true;
    if (mode === 'exclusive') {
      const pid = Buffer.from(`${process.pid}\n`);
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, pid, 0, pid.length, 0);
    }
  } finally {
    if (!locked) fs.closeSync(fd);
  }
  heldHere.add(abs);
  return {
    release(): void {
      if (!heldHere.delete(abs)) return;
      // Closing our (only) descriptor of the open file description drops the lock. The file stays:
      // removing it would let two processes lock two different files of the same name.
      fs.closeSync(fd);
    },
  };
}

function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
