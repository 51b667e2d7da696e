/**
 * What one commit of the streams runtime writes: the records per topic (the outputs and dead letters
 * of all tasks in processing order, then each task's changelog records) and the input offsets of
 * the tasks with progress.
 */
import type { ProducerRecord, TopicPartitionOffset } from '../log/index.ts';
import type { OutgoingRecord, StreamTask } from './task.ts';

export interface CommitBatch {
  readonly records: Map<string, ProducerRecord[]>;
  /** Only offsets that differ from the task's last committed one. */
  readonly offsets: TopicPartitionOffset[];
  /** Records over all topics. */
  readonly count: number;
}

/**
 * Takes (empties) `outputs` and the tasks' changelog records and processed offsets. `offsetOf` gives
 * the offset to commit for a source partition of `task` from the next offset after its last processed
 * record (-1 when none); a negative result commits nothing for it.
 */
export function collectCommitBatch(
  outputs: OutgoingRecord[],
  tasks: readonly StreamTask[],
  changelogTopic: (store: string) => string,
  offsetOf: (task: StreamTask, topic: string, processed: number) => number,
): CommitBatch {
  const records = new Map<string, ProducerRecord[]>();
  const add = (r: OutgoingRecord): void => {
    let list = records.get(r.topic);
    if (list === undefined) {
      list = [];
      records.set(r.topic, list);
    }
    list.push(r); // an OutgoingRecord is a ProducerRecord (its `topic` is not read): no copy per record
  };
  const offsets: TopicPartitionOffset[] = [];
  for (const r of outputs) add(r);
  outputs.length = 0;
  for (const task of tasks) {
    for (const r of task.takeChangelog(changelogTopic)) add(r);
    const consumed = new Map(task.takeOffsets().map((o) => [o.topic, o.offset]));
    for (const topic of task.sub.sourceTopics) {
      const offset = offsetOf(task, topic, consumed.get(topic) ?? -1);
      if (offset >= 0 && offset !== task.committedOffsets.get(topic)) {
        offsets.push({ topic, partition: task.partition, offset });
      }
    }
  }
  let count = 0;
  for (const list of records.values()) count += list.length;
  return { records, offsets, count };
}
