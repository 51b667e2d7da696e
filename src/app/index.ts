export { createLogger, type Logger, type LogLevel } from './logger.ts';
export { openLog } from './open-log.ts';
export { connectStorage, openStorage } from './open-storage.ts';
export { INSTANCE_FILE, Platform, type PlatformOptions } from './platform.ts';
export { PROCESSOR_NAMES, PROCESSORS, type ProcessorDeps } from './processors.ts';
export { platformTopics } from './topics.ts';
