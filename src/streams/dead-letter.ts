/**
 * Dead-letter records. A record that fails goes to `<source topic>.dlq`, same partition as its
 * source, in the same transaction as the task's other outputs:
 *
 * - key: the original key bytes (unchanged);
 * - headers: the original headers, then
 *   `dlq.stage` (deserialization | validation | timestamp | processing | late), `dlq.reason`,
 *   `dlq.error.code`, `dlq.source.topic`, `dlq.source.partition`, `dlq.source.offset`,
 *   `dlq.source.timestamp`, `dlq.application.id`, `dlq.task.id`;
 * - value: a UTF-8 JSON envelope `DeadLetterEnvelope` that repeats the above and carries the
 *   original key and value bytes in base64 (null stays null).
 */
import { isAppError } from '../errors/index.ts';
import type { LogRecord, RecordHeader } from '../log/index.ts';

export type DeadLetterStage = 'deserialization' | 'validation' | 'timestamp' | 'processing' | 'late';

export interface DeadLetterEnvelope {
  readonly stage: DeadLetterStage;
  readonly reason: string;
  readonly errorCode: string | null;
  readonly applicationId: string;
  readonly taskId: string;
  readonly source: {
    readonly topic: string;
    readonly partition: number;
    readonly offset: number;
    readonly timestamp: number;
  };
  /** base64 of the original key bytes. */
  readonly key: string | null;
  /** base64 of the original value bytes. */
  readonly value: string | null;
}

export function dlqTopicOf(sourceTopic: string): string {
  return `${sourceTopic}.dlq`;
}

export function errorReason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function deadLetterRecord(
  raw: LogRecord,
  stage: DeadLetterStage,
  err: unknown,
  applicationId: string,
  taskId: string,
): { key: Buffer | null; value: Buffer; headers: RecordHeader[] } {
  const reason = errorReason(err);
  const errorCode = isAppError(err) ? err.code : err instanceof Error ? err.name : null;
  const envelope: DeadLetterEnvelope = {
    stage,
    reason,
    errorCode,
    applicationId,
    taskId,
    source: { topic: raw.topic, partition: raw.partition, offset: raw.offset, timestamp: raw.timestamp },
    key: raw.key === null ? null : raw.key.toString('base64'),
    value: raw.value === null ? null : raw.value.toString('base64'),
  };
  const h = (name: string, value: string): RecordHeader => [name, Buffer.from(value, 'utf8')];
  const headers: RecordHeader[] = [
    ...raw.headers,
    h('dlq.stage', stage),
    h('dlq.reason', reason),
    h('dlq.error.code', errorCode ?? ''),
    h('dlq.source.topic', raw.topic),
    h('dlq.source.partition', String(raw.partition)),
    h('dlq.source.offset', String(raw.offset)),
    h('dlq.source.timestamp', String(raw.timestamp)),
    h('dlq.application.id', applicationId),
    h('dlq.task.id', taskId),
  ];
  return { key: raw.key, value: Buffer.from(JSON.stringify(envelope), 'utf8'), headers };
}
