import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedLog, openEmbeddedLog } from '../../src/log/index.ts';
import { describeLogConformance } from './conformance.ts';

describeLogConformance('embedded', {
  async makeLog(t) {
    const dir = await mkdtemp(join(tmpdir(), 'log-conformance-'));
    const log = await openEmbeddedLog({ dataDir: dir, segmentBytes: 64 * 1024 });
    t.after(async () => {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    });
    return log;
  },
  async runMaintenance(log) {
    await (log as EmbeddedLog).runMaintenance({ rollActiveSegments: true });
  },
});
