/** Reading back what anomaly-detection did on a log: what each by-sender task received, its alerts. */
import { type AnomalyAlert, AnomalyAlertSchema, Topics } from '../../../src/events/index.ts';
import type { Log } from '../../../src/log/index.ts';
import { Codecs } from '../../../src/streams/index.ts';
import { readCommitted } from '../../streams/helpers/log.ts';
import type { Msg } from '../delivery.ts';
import { readTopic } from '../helpers.ts';

const alertCodec = Codecs.schema(AnomalyAlertSchema);

/** The by-sender repartition topic of the application `app`. */
export const bySenderTopic = (app: string): string => `${app}-by-sender-repartition`;

/**
 * Per by-sender task (= partition of the repartition topic), the messages it received in offset
 * order, looked up by id in `msgs`: each task's input as the runtime interleaved it.
 */
export async function receivedPerTask(log: Log, app: string, msgs: readonly Msg[]): Promise<Msg[][]> {
  const byId = new Map(msgs.map((m) => [m.id, m]));
  return (await readCommitted(log, bySenderTopic(app))).map((records) =>
    records.map((r) => byId.get(JSON.parse(String(r.value)).id) as Msg),
  );
}

/** Every committed record of the alerts topic, decoded, in partition then offset order. */
export async function readAlerts(log: Log): Promise<AnomalyAlert[]> {
  return (await readTopic(log, Topics.anomalyAlerts.name)).map((r) => alertCodec.deserialize(r.value));
}
