/**
 * The log's directory on open: created (unless read-only) with one clear error instead of a stack
 * trace or a spin, and fs errors on open turned into one clear line.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { writeError } from './partition-append.ts';

/**
 * Create `root` (unless read-only) with one clear error instead of a stack trace or a spin: a path
 * under a pseudo file system (`/proc/x`), a file in the way, no permission, a read-only mount.
 */
export function prepareDataDir(root: string, readOnly: boolean): void {
  // Walk up to the nearest existing ancestor ourselves: it must be a writable directory.
  let existing = root;
  while (!fs.existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const st = fs.statSync(existing, { throwIfNoEntry: false });
  if (st === undefined || !st.isDirectory()) {
    throw new AppError(ErrorCode.LOG_IO, `cannot use ${root} for the log: ${existing} is not a directory`, {
      context: { path: root },
    });
  }
  if (readOnly) {
    if (existing !== root) {
      throw new AppError(ErrorCode.LOG_IO, `no log in ${path.dirname(root)}: ${root} does not exist`, {
        context: { path: root },
      });
    }
    return;
  }
  const pseudo = fs.statfsSync(existing).type;
  // procfs, sysfs: mkdir there fails in ways Node's recursive mkdir retries forever.
  if (pseudo === 0x9fa0 || pseudo === 0x62656572) {
    throw new AppError(
      ErrorCode.LOG_IO,
      `cannot use ${root} for the log: ${existing} is not a disk file system`,
      {
        context: { path: root },
      },
    );
  }
  try {
    fs.mkdirSync(path.join(root, 'topics'), { recursive: true });
  } catch (err) {
    throw fsError(err, root);
  }
}

/** An fs error on open as one clear line: permissions, read-only or immutable files, a full disk. */
export function fsError(err: unknown, root: string): unknown {
  if (err instanceof AppError) return err;
  const e = err as NodeJS.ErrnoException;
  const where = e.path ?? root;
  if (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS') {
    return new AppError(
      ErrorCode.LOG_IO,
      `cannot open the log in ${root}: ${where} is not writable (${e.code}: permission denied, a read-only mount or an immutable file)`,
      { cause: err, context: { path: where, errno: e.code } },
    );
  }
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return writeError(err, root);
  if (typeof e.code === 'string') {
    return new AppError(ErrorCode.LOG_IO, `cannot open the log in ${root}: ${e.message}`, {
      cause: err,
      context: { path: where, errno: e.code },
    });
  }
  return err;
}
