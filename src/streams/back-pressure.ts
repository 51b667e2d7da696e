/**
 * Back-pressure on fetching (Kafka Streams' `buffered.records.per.partition`): a partition whose
 * fetched-but-unprocessed records reach the buffer's bound is paused on the consumer, and resumed
 * once the buffer holds fewer.
 */
import { type Consumer, type TopicPartition, tpKey } from '../log/index.ts';

export class BackPressure {
  readonly #paused = new Set<string>();

  /** Keys (`topic:partition`) of the partitions paused here. */
  get paused(): ReadonlySet<string> {
    return this.#paused;
  }

  /** Pause the `overfull` partitions, resume the others paused before. */
  apply(consumer: Consumer, overfull: readonly TopicPartition[]): void {
    const full = new Set(overfull.map(tpKey));
    const pause: TopicPartition[] = [];
    const resume: TopicPartition[] = [];
    for (const tp of consumer.assignment()) {
      const key = tpKey(tp);
      if (full.has(key) && !this.#paused.has(key)) {
        pause.push(tp);
        this.#paused.add(key);
      } else if (!full.has(key) && this.#paused.has(key)) {
        resume.push(tp);
        this.#paused.delete(key);
      }
    }
    if (pause.length > 0) consumer.pause(pause);
    if (resume.length > 0) consumer.resume(resume);
  }

  /** The buffer was dropped: resume every partition paused here. */
  resumeAll(consumer: Consumer | undefined): void {
    if (this.#paused.size === 0) return;
    const c = consumer as Consumer;
    const resume = c.assignment().filter((tp) => this.#paused.has(tpKey(tp)));
    this.#paused.clear();
    if (resume.length > 0) c.resume(resume);
  }
}
