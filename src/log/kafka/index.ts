export { KafkaLog, type KafkaLogOptions, openKafkaLog } from './kafka-log.ts';
