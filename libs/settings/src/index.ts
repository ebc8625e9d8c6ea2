export * from './domain/settings';
export * from './domain/settings.events';
export * from './domain/settings.decider';
export * from './domain/settings.validation';

export * from './domain/signing-secret';
export * from './settings.repository';
export * from './settings.module';
export * from './outbound/outbound-http';
export * from './change-settings/change-settings.command';
export * from './rotate-signing-secret/rotate-signing-secret.command';
export * from './outbound/host-resolver';
export * from './secret-box';
export { forgetCachedSettings } from './settings.cache';
