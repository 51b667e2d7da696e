export { type PublishOptions, type PublishTotals, publishTraffic } from './publish.ts';
export { Random, seededFloats } from './random.ts';
export { type GeneratedEvent, generateTraffic, type TrafficOptions, takeTraffic } from './traffic.ts';
