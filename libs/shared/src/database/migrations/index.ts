import { EventStore1700000000001 } from './1700000000001-event-store';
import { Tenancy1700000000002 } from './1700000000002-tenancy';

/** Every migration, in order. A new one is appended here. */
export const MIGRATIONS = [EventStore1700000000001, Tenancy1700000000002];
