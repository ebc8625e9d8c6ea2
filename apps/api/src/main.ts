import 'reflect-metadata';
import { serve } from './bootstrap';

// `node main.js`            API + workers + projections in one process (the single-machine default)
// `node main.js --api-only` API only, for scaling the roles apart (start workers with apps/worker)
const apiOnly = process.argv.includes('--api-only');
void serve({ api: true, worker: !apiOnly });
