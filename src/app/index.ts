export { openLog } from './open-log.ts';
export { platformTopics } from './topics.ts';
