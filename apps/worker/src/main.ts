import 'reflect-metadata';
import { serve } from '../../api/src/bootstrap';

// Workers, async projections and the job outbox. It still listens on PORT, for /health and /metrics only.
void serve({ api: false, worker: true });
