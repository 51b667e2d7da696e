/**
 * `msgtrack log verify`: a read-only check of a data dir's embedded log — every segment frame by frame
 * (CRC, offsets in order), every index against its segment, and the metadata journal. Changes nothing
 * and takes no lock (a live writer's active segment may show a torn tail that is a write in progress).
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Journal } from './journal.ts';
import { describeCorruption } from './partition-recovery.ts';
import { SEGMENT_SUFFIX } from './segment.ts';
import { readIndex } from './segment-index.ts';
import { scanSegment } from './segment-scan.ts';

export interface VerifyFinding {
  readonly kind:
    | 'corrupt'
    | 'torn-tail'
    | 'index-missing'
    | 'index-damaged'
    | 'index-stale'
    | 'index-mismatch'
    | 'journal-damaged'
    | 'journal-torn-tail';
  readonly file: string;
  /** What is wrong, where, and what `msgtrack log repair` would do about it. */
  readonly message: string;
  readonly repair: string;
}

export interface VerifyResult {
  readonly segments: number;
  readonly bytes: number;
  readonly findings: VerifyFinding[];
}

export async function verifyEmbeddedLog(dataDir: string): Promise<VerifyResult> {
  const root = path.join(path.resolve(dataDir), 'log');
  const findings: VerifyFinding[] = [];
  let segments = 0;
  let bytes = 0;
  const journal = path.join(root, 'meta.journal');
  const j = Journal.read(journal);
  for (const d of j.damaged) {
    findings.push({
      kind: 'journal-damaged',
      file: journal,
      message: `damaged journal entries at bytes ${d.position}..${d.end}`,
      repair: `move bytes ${d.position}..${d.end} of ${journal} to ${path.join(root, 'quarantine')}/ and keep the entries around them`,
    });
  }
  if (j.truncatedBytes > 0) {
    findings.push({
      kind: 'journal-torn-tail',
      file: journal,
      message: `torn write of ${j.truncatedBytes} bytes at the end of the journal`,
      repair: `cut the last ${j.truncatedBytes} bytes of ${journal}`,
    });
  }
  const topicsDir = path.join(root, 'topics');
  const topics = fs.existsSync(topicsDir) ? fs.readdirSync(topicsDir).sort() : [];
  for (const topic of topics) {
    const parts = fs
      .readdirSync(path.join(topicsDir, topic))
      .filter((p) => /^\d+$/.test(p))
      .sort((a, b) => Number(a) - Number(b));
    for (const p of parts) {
      const dir = path.join(topicsDir, topic, p);
      const names = fs
        .readdirSync(dir)
        .filter((n) => n.endsWith(SEGMENT_SUFFIX))
        .sort();
      let expectedNext = 0;
      for (let i = 0; i < names.length; i++) {
        const file = path.join(dir, names[i]!);
        const base = Number(names[i]!.slice(0, -SEGMENT_SUFFIX.length));
        const isLast = i === names.length - 1;
        const fd = fs.openSync(file, 'r');
        try {
          const size = fs.fstatSync(fd).size;
          segments++;
          bytes += size;
          let lastOffset = base - 1;
          let records = 0;
          const scan = await scanSegment(fd, size, 0, expectedNext, (_b, _p, _f, _n, h) => {
            lastOffset = h.lastOffset;
            records += h.count;
          });
          const pr = scan.problem;
          if (pr?.kind === 'torn-tail') {
            findings.push({
              kind: 'torn-tail',
              file,
              message: `torn write: ${pr.bytes} bytes at ${pr.position}..${pr.position + pr.bytes} hold no complete frame`,
              repair: `cut the last ${pr.bytes} bytes of ${file}`,
            });
          } else if (pr?.kind === 'corrupt') {
            findings.push({
              kind: 'corrupt',
              file,
              message: describeCorruption(file, pr),
              repair: `move bytes ${pr.position}..${pr.end} of ${file} to ${path.join(dir, 'quarantine')}/ and serve the records around them`,
            });
          }
          const idx = readIndex(file, base, size);
          if (!idx.ok && !(isLast && idx.reason === 'missing')) {
            findings.push({
              kind: `index-${idx.reason}`,
              file,
              message: `the index of ${file} is ${idx.reason} (an open scans the segment instead)`,
              repair: `rebuild the index of ${file}`,
            });
          } else if (
            idx.ok &&
            pr === undefined &&
            (idx.summary.lastOffset !== lastOffset || idx.summary.records !== records)
          ) {
            findings.push({
              kind: 'index-mismatch',
              file,
              message: `the index of ${file} says offsets up to ${idx.summary.lastOffset} (${idx.summary.records} records), the segment holds up to ${lastOffset} (${records})`,
              repair: `rebuild the index of ${file}`,
            });
          }
          expectedNext = Math.max(expectedNext, lastOffset + 1);
        } finally {
          fs.closeSync(fd);
        }
      }
    }
  }
  return { segments, bytes, findings };
}
