import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';

/** Run `msgtrack log …` in this process (the real entry point), capturing its output. */
async function msgtrack(dataDir: string, ...args: string[]): Promise<{ code: number; out: string }> {
  const saved = { dataDir: process.env.DATA_DIR, brokers: process.env.KAFKA_BROKERS };
  const write = process.stdout.write;
  const writeErr = process.stderr.write;
  let out = '';
  const capture = (chunk: string | Uint8Array): boolean => {
    out += chunk.toString();
    return true;
  };
  process.env.DATA_DIR = dataDir;
  delete process.env.KAFKA_BROKERS;
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    return { code: await main(['log', ...args]), out };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
    if (saved.dataDir === undefined) delete process.env.DATA_DIR;
    else process.env.DATA_DIR = saved.dataDir;
    if (saved.brokers !== undefined) process.env.KAFKA_BROKERS = saved.brokers;
  }
}

test('msgtrack log verify|repair: clean, a flipped bit found read-only, dry run changes nothing, repair quarantines', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cli-log-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const log = await openEmbeddedLog({ dataDir, segmentBytes: 1024 });
  await log.createTopics([{ name: 'v', partitions: 1 }]);
  for (let i = 0; i < 30; i++) await log.producer().send('v', [{ value: `value-${i}`.padEnd(60, '.') }]);
  await log.close();
  const clean = await msgtrack(dataDir, 'verify');
  const part = join(dataDir, 'log', 'topics', 'v', '0');
  const seg = join(
    part,
    readdirSync(part)
      .filter((f) => f.endsWith('.seg'))
      .sort()[1]!,
  );
  const bytes = readFileSync(seg);
  bytes[200]! ^= 0x01;
  writeFileSync(seg, bytes);
  const damaged = await msgtrack(dataDir, 'verify');
  const dry = await msgtrack(dataDir, 'repair', '--dry-run');
  const unchanged = readFileSync(seg).equals(bytes);
  const repaired = await msgtrack(dataDir, 'repair');
  const after = await msgtrack(dataDir, 'verify');
  const help = [await msgtrack(dataDir, 'verify', '--help'), await msgtrack(dataDir, 'repair', '--help')];
  const usage = await msgtrack(dataDir, 'fix');
  assert.deepStrictEqual(
    {
      clean: [clean.code, /^clean: 4 segments/m.test(clean.out)],
      damaged: [
        damaged.code,
        damaged.out.includes(`corrupt: corrupt data in ${seg} at byte 123 (CRC mismatch`),
      ],
      dry: [dry.code, dry.out.includes(`would move bytes 123..246 of ${seg}`), unchanged],
      repaired: [
        repaired.code,
        repaired.out.includes('moved those 123 bytes'),
        repaired.out.includes('verifies clean'),
      ],
      after: [after.code, after.out.startsWith('clean')],
      help: help.map((h) => [
        h.code,
        h.out.includes('Usage: msgtrack log <verify|repair>'),
        h.out.includes('--dry-run'),
      ]),
      usage: usage.code,
    },
    {
      clean: [0, true],
      damaged: [1, true],
      dry: [1, true, true],
      repaired: [0, true, true],
      after: [0, true],
      help: [
        [0, true, true],
        [0, true, true],
      ],
      usage: 2,
    },
  );
});
