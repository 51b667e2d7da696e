export { Random } from './random.ts';
export { type GeneratedEvent, generateTraffic, type TrafficOptions, takeTraffic } from './traffic.ts';
