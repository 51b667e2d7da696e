/**
 * The last step of closing the log: every partition's files and the journal closed, the directory
 * lock released, and the first failure reported as one error naming the data dir.
 */

import { AppError } from '../../errors/index.ts';
import type { DirLock } from './lock.ts';
import type { LogMetadata } from './log-metadata.ts';
import { writeError } from './partition-append.ts';

/**
 * Closes every partition, then the journal (fsynced when `syncJournal`), then releases `lock` — each
 * step runs even when one before it failed. The first failure is thrown after: an AppError as it is,
 * anything else as the write error it is, with the data dir in its message.
 */
export function closeFiles(
  meta: LogMetadata,
  lock: DirLock,
  syncJournal: boolean,
  root: string,
  dataDir: string,
): void {
  let error: unknown;
  for (const t of meta.topics.values()) {
    for (const p of t.parts) {
      try {
        p.close();
      } catch (err) {
        error ??= err;
      }
    }
  }
  try {
    if (meta.journalOpen) meta.journal.close(syncJournal);
  } catch (err) {
    error ??= err;
  }
  lock.release();
  if (error !== undefined) {
    if (error instanceof AppError) throw error;
    const e = writeError(error, root);
    throw new AppError(e.code, `closing the log in ${dataDir} failed: ${e.message}`, {
      cause: error,
      context: e.context,
    });
  }
}
