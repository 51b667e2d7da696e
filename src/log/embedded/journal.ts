/**
 * The metadata journal `<dataDir>/log/meta.journal`: an append-only file of JSON entries, each framed
 * as `u32 length | u32 crc32 | UTF-8 JSON`. It holds topic definitions, group offset commits,
 * transaction commit decisions and the session counter. On open it is replayed (a torn tail is cut)
 * and rewritten as a compact snapshot (temp file, fsync, rename, fsync of the directory), and it is
 * rewritten the same way when it grows past a limit.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';

const HEADER = 8;
const MAX_ENTRY_BYTES = 64 * 1024 * 1024;

export class Journal {
  readonly file: string;
  #fd: number;
  #size: number;
  #dirty = false;

  private constructor(file: string, fd: number, size: number) {
    this.file = file;
    this.#fd = fd;
    this.#size = size;
  }

  /**
   * Read every intact entry of the journal at `file` (missing file: none). An incomplete entry at the
   * end with nothing valid after it is a torn tail (`truncatedBytes`); a complete entry with a bad CRC
   * or unparseable JSON is damage: its range is reported in `damaged` (up to the next intact entry)
   * and the entries after it are still read.
   */
  static read(file: string): {
    entries: unknown[];
    truncatedBytes: number;
    damaged: { position: number; end: number }[];
  } {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return { entries: [], truncatedBytes: 0, damaged: [] };
      throw err;
    }
    const entries: unknown[] = [];
    const damaged: { position: number; end: number }[] = [];
    let p = 0;
    while (p < buf.length) {
      const e = entryAt(buf, p);
      if (e !== undefined) {
        entries.push(e.entry);
        p = e.end;
        continue;
      }
      const complete = p + HEADER <= buf.length && p + HEADER + buf.readUInt32LE(p) <= buf.length;
      let q = p + 1;
      while (q < buf.length && entryAt(buf, q) === undefined) q++;
      if (q >= buf.length && !complete) return { entries, truncatedBytes: buf.length - p, damaged };
      damaged.push({ position: p, end: q });
      p = q;
    }
    return { entries, truncatedBytes: 0, damaged };
  }

  /** Atomically replace the journal at `file` with `entries`, and open it for appending. */
  static create(file: string, entries: readonly unknown[]): Journal {
    const tmp = `${file}.tmp`;
    const bufs = entries.map(frame);
    const data = Buffer.concat(bufs);
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, data, 0, data.length, 0);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    syncDir(path.dirname(file));
    return new Journal(file, fs.openSync(file, 'r+'), data.length);
  }

  get size(): number {
    return this.#size;
  }

  /** Append one entry; on failure (disk full) the partial entry is cut off again and the error thrown. */
  append(entry: unknown): void {
    const buf = frame(entry);
    let written = 0;
    try {
      while (written < buf.length) {
        written += fs.writeSync(this.#fd, buf, written, buf.length - written, this.#size + written);
      }
    } catch (err) {
      fs.ftruncateSync(this.#fd, this.#size);
      throw err;
    }
    this.#size += buf.length;
    this.#dirty = true;
  }

  get fd(): number {
    return this.#fd;
  }
  get dirty(): boolean {
    return this.#dirty;
  }
  markClean(): void {
    this.#dirty = false;
  }

  syncNow(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    fs.fdatasyncSync(this.#fd);
  }

  /** Replace the content with a snapshot (same procedure as `create`). */
  rewrite(entries: readonly unknown[]): void {
    fs.closeSync(this.#fd);
    const j = Journal.create(this.file, entries);
    this.#fd = j.#fd;
    this.#size = j.#size;
    this.#dirty = false;
  }

  /** Close the file, fdatasynced first when `sync` (the fsync policy is not 'never'). */
  close(sync = true): void {
    if (this.#fd < 0) return;
    if (sync) this.syncNow();
    fs.closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** The intact entry at `p`, if there is one. */
function entryAt(buf: Buffer, p: number): { entry: unknown; end: number } | undefined {
  if (p + HEADER > buf.length) return undefined;
  const len = buf.readUInt32LE(p);
  if (len < 2 || len > MAX_ENTRY_BYTES || p + HEADER + len > buf.length) return undefined;
  const body = buf.subarray(p + HEADER, p + HEADER + len);
  if (crc32(body) !== buf.readUInt32LE(p + 4)) return undefined;
  try {
    return { entry: JSON.parse(body.toString('utf8')), end: p + HEADER + len };
  } catch {
    return undefined;
  }
}

function frame(entry: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(entry), 'utf8');
  const buf = Buffer.allocUnsafe(HEADER + body.length);
  buf.writeUInt32LE(body.length, 0);
  buf.writeUInt32LE(crc32(body), 4);
  body.copy(buf, HEADER);
  return buf;
}

export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
