export * from './test-database';
export * from './test-app';
export * from './redis-prefix';
export * from './http-client';
export * from './private-redis';
export * from './fixtures/probe-jobs';
export * from './processes';
export * from './http-sink';
