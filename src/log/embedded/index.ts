export {
  type EmbeddedLog,
  type EmbeddedLogOptions,
  type FsyncPolicy,
  type MaintenanceReport,
  openEmbeddedLog,
  type RecoveryReport,
} from './embedded-log.ts';
