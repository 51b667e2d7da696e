// The pages. Each is `async (ctx) => Node`: ctx.q (the page's URL parameters), ctx.from/ctx.to (ISO,
// the global range), ctx.go(params) (new URL state), ctx.live (latest tick) and ctx.onLive(fn).

import { alerts } from './page-alerts.js';
import { conversations } from './page-conversations.js';
import { explore } from './page-explore.js';
import { overview } from './page-overview.js';
import { pipeline } from './page-pipeline.js';
import { trends } from './page-trends.js';
import { users } from './page-users.js';

export { alerts, conversations, explore, overview, pipeline, trends, users };

export const PAGES = { overview, conversations, users, trends, alerts, pipeline, explore };
