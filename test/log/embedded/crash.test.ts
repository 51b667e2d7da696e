/**
 * Crash test: a child process (test/log/fixtures/crash-writer.ts) produces and commits in a loop with
 * fsync 'always' (acknowledged means durable) and is killed with SIGKILL at random moments. After
 * each kill the parent reopens the log and checks: every acknowledged record is there exactly once,
 * in order; committed transactions are fully visible, aborted ones invisible, the one in flight at
 * the kill is all-or-nothing; group offsets match the last committed transaction; no transaction is
 * left open and every partition reads cleanly to its end.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Log, type LogRecord, openEmbeddedLog, type TopicPartition } from '../../../src/log/index.ts';

const ROUNDS = 24;
const fixture = new URL('../fixtures/crash-writer.ts', import.meta.url).pathname;

interface Round {
  plain: { id: string; partition: number; offset: number }[];
  txns: Map<string, { ids: string[]; input: number; outcome: 'C' | 'A' | undefined }>;
}

/**
 * Run the writer and SIGKILL it `killAfterMs` after READY, but not before it printed `minLines`
 * lines after READY: on a slow disk (fsync per write) a fixed time alone may see too few writes for
 * the kills to hit transactions of both outcomes.
 */
function runChild(dataDir: string, run: number, killAfterMs: number, minLines: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, dataDir, String(run)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    let due = false;
    const linesAfterReady = () => out.split('\n').length - 2;
    const killIfDue = () => {
      if (due && linesAfterReady() >= minLines) child.kill('SIGKILL');
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (timer === undefined && out.includes('READY\n')) {
        timer = setTimeout(() => {
          due = true;
          killIfDue();
        }, killAfterMs);
      }
      killIfDue();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`crash-writer exited without being killed: ${signal}\n${err}`));
        return;
      }
      const round: Round = { plain: [], txns: new Map() };
      // Only complete lines count: a line cut by the kill was not fully acknowledged.
      for (const line of out.split('\n').slice(0, -1)) {
        const [kind, a, b, c] = line.split(' ');
        if (kind === 'P') round.plain.push({ id: a!, partition: Number(b), offset: Number(c) });
        else if (kind === 'B')
          round.txns.set(a!, { ids: b!.split(','), input: Number(c), outcome: undefined });
        else if (kind === 'C' || kind === 'A') round.txns.get(a!)!.outcome = kind;
      }
      resolve(round);
    });
  });
}

async function readAll(log: Log, topic: string, n: number): Promise<LogRecord[]> {
  const tps: TopicPartition[] = Array.from({ length: n }, (_, partition) => ({ topic, partition }));
  const c = log.consumer({ groupId: `verify-${topic}`, maxPollRecords: 100_000 });
  c.assign(tps);
  const out: LogRecord[] = [];
  for (;;) {
    const rs = await c.poll(0);
    if (rs.length === 0) break;
    out.push(...rs);
  }
  const ends = await Promise.all(tps.map((tp) => log.partitionOffsets(tp.topic, tp.partition)));
  const positions = tps.map((tp) => c.position(tp));
  await c.close();
  // read cleanly to the end: nothing open, positions at the end
  assert.deepStrictEqual(
    positions,
    ends.map((e) => (e.lastStable === e.latest ? e.latest : -1)),
  );
  return out;
}

test('SIGKILL at random moments loses no acknowledged write and breaks no transaction', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'log-crash-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const acked: Round['plain'] = [];
  const committed = new Set<string>();
  const aborted = new Set<string>();
  const committedIds = new Set<string>();
  const recovered = { truncatedBytes: 0, committedTransactions: 0, abortedTransactions: 0 };
  let lastCommittedInput: number | undefined;
  let totalTxns = 0;
  for (let run = 1; run <= ROUNDS; run++) {
    const round = await runChild(
      dir,
      run,
      30 + Math.floor(Math.random() * 400),
      5 + Math.floor(Math.random() * 40),
    );
    acked.push(...round.plain);
    const log = await openEmbeddedLog({ dataDir: dir, fsync: 'always' });
    try {
      const plain = await readAll(log, 'plain', 3);
      const txout = await readAll(log, 'txout', 2);
      const visible = new Set(txout.map((r) => r.value!.toString()));
      // The transaction in flight at the kill (begun, no outcome printed) is all-or-nothing.
      for (const [name, txn] of round.txns) {
        totalTxns++;
        const present = txn.ids.filter((id) => visible.has(id)).length;
        const outcome = txn.outcome ?? (present === 0 ? 'A' : 'C');
        (outcome === 'C' ? committed : aborted).add(name);
        if (outcome === 'C') lastCommittedInput = txn.input;
        if (outcome === 'C') for (const id of txn.ids) committedIds.add(id);
      }
      recovered.truncatedBytes += log.recovery.truncatedBytes;
      recovered.committedTransactions += log.recovery.committedTransactions;
      recovered.abortedTransactions += log.recovery.abortedTransactions;
      const plainIds = plain.map((r) => r.value!.toString());
      const byId = new Map(plain.map((r) => [r.value!.toString(), r]));
      const groups = await log.listGroups();
      const groupOffset = groups.find((g) => g.groupId === 'crash-group')?.offsets[0]?.offset;
      assert.deepStrictEqual(
        {
          run,
          duplicates: plainIds.length - new Set(plainIds).size,
          missingAcked: acked.filter((a) => {
            const r = byId.get(a.id);
            return r === undefined || r.partition !== a.partition || r.offset !== a.offset;
          }),
          // per partition, acknowledged records appear in acknowledgement order
          orderOk: [0, 1, 2].every((p) => {
            const offs = acked.filter((a) => a.partition === p).map((a) => a.offset);
            return offs.every((o, i) => i === 0 || o > offs[i - 1]!);
          }),
          txVisibleNotCommitted: [...visible].filter((id) => !committedIds.has(id)),
          txCommittedMissing: [...committedIds].filter((id) => !visible.has(id)),
          groupOffset,
        },
        {
          run,
          duplicates: 0,
          missingAcked: [],
          orderOk: true,
          txVisibleNotCommitted: [],
          txCommittedMissing: [],
          groupOffset: lastCommittedInput,
        },
      );
    } finally {
      await log.close();
    }
  }
  t.diagnostic(
    `acked ${acked.length} plain records, ${totalTxns} transactions (${committed.size} committed); ` +
      `recovery: ${JSON.stringify(recovered)}`,
  );
  // the kills hit all kinds of moments: many transactions ran, both outcomes happened
  assert.ok(acked.length > ROUNDS && totalTxns > ROUNDS, `acked ${acked.length}, txns ${totalTxns}`);
  assert.ok(committed.size > 0 && aborted.size > 0);
});
