export * from './follow-up.jobs';
export * from './follow-ups.repository';
export * from './follow-up-writer';
export * from './follow-ups.module';
export * from './schedule-follow-up/schedule-follow-up.command';
export * from './change-follow-up/change-follow-up.command';
export { NEVER_OPENS_RECHECK_MS } from './execute-follow-up/follow-up-executor';
