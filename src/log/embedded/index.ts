export {
  type EmbeddedLog,
  type EmbeddedLogOptions,
  type FsyncPolicy,
  type MaintenanceReport,
  openEmbeddedLog,
  type RecoveryReport,
} from './embedded-log.ts';
export type { CorruptionPolicy, RecoveryEvent } from './partition-recovery.ts';
export type { ScrubReport } from './scrub.ts';
export { type VerifyFinding, type VerifyResult, verifyEmbeddedLog } from './verify.ts';
