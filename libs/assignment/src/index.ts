export * from './assignment.module';
export * from './reassign.jobs';
