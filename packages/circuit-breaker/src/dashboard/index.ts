export { createDashboardHandler } from './createDashboardHandler';
export type {
  DashboardHandler,
  DashboardOptions,
} from './createDashboardHandler';
