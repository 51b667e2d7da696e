export { murmur2, partitionForKey } from './partitioner.ts';
export * from './types.ts';
