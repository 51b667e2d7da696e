export { dashboardRoutes } from './plugin.ts';
