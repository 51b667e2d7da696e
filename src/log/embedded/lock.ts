/**
 * One process owns a data dir: `<dir>/LOCK` holds the owner's pid. A lock whose pid is no longer
 * alive is stale and taken over; a live owner (another process, or another open log in this
 * process) makes `acquireLock` fail with LOG_LOCKED naming the directory and the pid.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppError, ErrorCode } from '../../errors/index.ts';

/** Directories locked by this process (a second open in the same process is refused too). */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedError(dir: string, pid: number): AppError {
  return new AppError(
    ErrorCode.LOG_LOCKED,
    `data dir ${dir} is locked by process ${pid}; stop it or use another data dir`,
    { context: { dataDir: dir, pid } },
  );
}

export interface DirLock {
  release(): void;
}

export function acquireLock(dir: string): DirLock {
  const abs = path.resolve(dir);
  const file = path.join(abs, 'LOCK');
  if (heldHere.has(abs)) throw lockedError(abs, process.pid);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, `${process.pid}\n`);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      heldHere.add(abs);
      return {
        release(): void {
          if (!heldHere.delete(abs)) return;
          try {
            if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = readPid(file);
    if (pid !== undefined && pid !== process.pid && isAlive(pid)) throw lockedError(abs, pid);
    if (pid === undefined && attempt < 3) {
      // Being written right now by another process (or left empty by a crash): look again shortly.
      sleepSync(20);
      continue;
    }
    // Stale (dead owner, or this process's own leftover after a crash of an earlier run): take over.
    // Rename first so that of two processes racing to take over, only one removes this lock file.
    const stale = `${file}.stale-${process.pid}`;
    try {
      fs.renameSync(file, stale);
      fs.rmSync(stale, { force: true });
    } catch {
      // someone else took it over first: retry
    }
  }
  const pid = readPid(file);
  throw lockedError(abs, pid ?? -1);
}

function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
