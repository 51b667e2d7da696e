/** What every client of one `KafkaLog` shares: the cluster's address and the client id prefix. */
export interface KafkaClientSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
}

/** The library client options every client gets (bootstrap brokers, client id). */
export function clientOptions(
  settings: KafkaClientSettings,
  clientId: string,
): { clientId: string; bootstrapBrokers: string[] } {
  return { clientId, bootstrapBrokers: [...settings.brokers] };
}
