export type { Activity, JoinInput } from './read-join.ts';
export {
  createUserActivity,
  USER_ACTIVITY_APPLICATION_ID,
  type UserActivityDeps,
  type UserActivityOptions,
  userActivityTopology,
} from './topology.ts';
