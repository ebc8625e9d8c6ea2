export * from './assignment.module';
export * from './reassign.jobs';
export * from './reassign.job-source';
export * from './reassign-backlog.handler';
