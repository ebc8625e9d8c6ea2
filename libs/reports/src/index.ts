export * from './reports.module';
export * from './shared/org-timezone';
export * from './call-report';
export * from './follow-up-report';
