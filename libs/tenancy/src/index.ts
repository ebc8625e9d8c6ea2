export * from './domain/tenancy.events';
export * from './domain/api-key';
export * from './domain/user.decider';
export * from './user.repository';
export * from './tenancy.module';
export * from './create-organization/create-organization.command';
export * from './create-user/create-user.command';
export * from './revoke-api-key/revoke-api-key.command';
