export * from './due-timing';
export * from './hub.repository';
export * from './hub-action.command';
export * from './hub.module';
