import { loadConfig } from '../config/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import { openEmbeddedLog, verifyEmbeddedLog } from '../log/embedded/index.ts';
import type { Command } from './command.ts';

/**
 * `msgtrack log verify|repair` on the embedded log in DATA_DIR.
 * - verify: a read-only scan of every segment, index and the journal; exit 0 when clean, 1 when not,
 *   one line per finding (what, where, and what repair would do).
 * - repair: opens the log with a full scan and LOG_ON_CORRUPTION=quarantine: torn tails are cut,
 *   corrupt ranges moved to quarantine files (records around them kept with their offsets), indexes
 *   rebuilt; prints every action. `--dry-run` prints what it would do and changes nothing.
 */
export const logCommand: Command = {
  name: 'log',
  usage: '<verify|repair>',
  summary:
    'Verify the embedded log (read-only; exit 1 if damaged) or repair it (quarantine damage, cut torn tails).',
  options: {
    json: { type: 'boolean', description: 'verify: print the findings as JSON', default: false },
    'dry-run': {
      type: 'boolean',
      description: 'repair: say what would be cut or quarantined, change nothing',
      default: false,
    },
  },
  async run(args) {
    const [action, ...extra] = args.positionals;
    if ((action !== 'verify' && action !== 'repair') || extra.length > 0) {
      throw new AppError(ErrorCode.CLI_USAGE, 'expected one action: verify or repair');
    }
    const config = loadConfig();
    if (config.log.kind !== 'embedded') {
      throw new AppError(
        ErrorCode.CLI_USAGE,
        `msgtrack log ${action} works on the embedded log; KAFKA_BROKERS is set`,
      );
    }
    const dataDir = config.dataDir;
    if (action === 'verify' || args.values['dry-run'] === true) {
      const result = await verifyEmbeddedLog(dataDir);
      if (args.values.json === true) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } else if (action === 'verify') {
        for (const f of result.findings) process.stdout.write(`${f.kind}: ${f.message}\n`);
        process.stdout.write(
          `${result.findings.length === 0 ? 'clean' : `${result.findings.length} problem(s)`}: ${result.segments} segments, ${result.bytes} bytes in ${dataDir}\n`,
        );
      } else {
        for (const f of result.findings) process.stdout.write(`would ${f.repair}\n`);
        if (result.findings.length === 0) process.stdout.write(`nothing to repair in ${dataDir}\n`);
      }
      return result.findings.length === 0 ? 0 : 1;
    }
    const log = await openEmbeddedLog({
      dataDir,
      fsync: config.log.fsync,
      onCorruption: 'quarantine',
      scanAll: true,
      onRecoveryEvent: (e) => process.stdout.write(`${e.message}\n`),
    });
    await log.close();
    const after = await verifyEmbeddedLog(dataDir);
    for (const f of after.findings) process.stdout.write(`still: ${f.kind}: ${f.message}\n`);
    process.stdout.write(
      after.findings.length === 0 ? `repaired: ${dataDir} verifies clean\n` : 'repair incomplete\n',
    );
    return after.findings.length === 0 ? 0 : 1;
  },
};
