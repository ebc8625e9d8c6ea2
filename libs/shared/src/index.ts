export * from './config/environment';
export * from './errors/domain.error';
export * from './actor';
export * from './database/database';
export * from './database/database.module';
export * from './database/migrate';
export * from './clock';
export * from './platform/platform.module';
