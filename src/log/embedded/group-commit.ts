/**
 * Group commit: batches queued in the same tick, on any partitions, are written together in a
 * microtask (one writev per segment); every send waiting on the round resolves after the write
 * ('interval', 'never') or after an fdatasync of every file written ('always'). A round is all or
 * nothing: if one partition's write fails (disk full), the others written in it are undone too, so
 * that no send whose promise rejects left any of its records in the log.
 */

import * as fs from 'node:fs';
import { AppError, ErrorCode } from '../../errors/index.ts';
import type { FsyncPolicy } from './embedded-types.ts';
import { writeError } from './partition-append.ts';
import type { PartitionLog } from './partition-log.ts';

export class GroupCommit {
  readonly #fsync: FsyncPolicy;
  /** The log's directory (for error messages). */
  readonly #root: string;
  #dirty = new Set<PartitionLog>();
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #scheduled = false;

  constructor(fsync: FsyncPolicy, root: string) {
    this.#fsync = fsync;
    this.#root = root;
  }

  /** `p` has queued batches for the next round. */
  add(p: PartitionLog): void {
    this.#dirty.add(p);
  }

  /** Resolves when the next round (scheduled now if none is) wrote, and synced under 'always'. */
  schedule(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.flushNow());
      }
    });
  }

  /** Run the scheduled round now (the log closes). */
  flushIfScheduled(): void {
    if (this.#scheduled) this.flushNow();
  }

  flushNow(): void {
    this.#scheduled = false;
    const waiters = this.#waiters;
    this.#waiters = [];
    const dirty = this.#dirty;
    this.#dirty = new Set();
    const written: PartitionLog[] = [];
    try {
      for (const p of dirty) {
        p.writePending();
        written.push(p);
      }
    } catch (err) {
      for (const p of written) p.undoWrite();
      for (const p of dirty) if (!written.includes(p)) p.undoWrite();
      const e = writeError(err, this.#root);
      for (const w of waiters) w.reject(e);
      return;
    }
    for (const p of written) p.commitWrite();
    if (this.#fsync !== 'always') {
      for (const w of waiters) w.resolve();
      return;
    }
    const fds: number[] = [];
    for (const p of dirty) fds.push(...p.takeDirtyFds());
    syncFds(fds).then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        const e = new AppError(ErrorCode.LOG_IO, `fsync of the log failed: ${(err as Error).message}`, {
          cause: err,
        });
        for (const w of waiters) w.reject(e);
      },
    );
  }
}

/** fdatasync every fd, in parallel off the event loop. */
export function syncFds(fds: Iterable<number>): Promise<void> {
  const list = [...fds];
  if (list.length === 0) return Promise.resolve();
  return Promise.all(
    list.map(
      (fd) =>
        new Promise<void>((resolve, reject) => {
          fs.fdatasync(fd, (err) => {
            // EBADF: the file was closed meanwhile (segment deleted or log closed) - nothing to sync.
            if (err !== null && err.code !== 'EBADF') reject(err);
            else resolve();
          });
        }),
    ),
  ).then(() => undefined);
}
