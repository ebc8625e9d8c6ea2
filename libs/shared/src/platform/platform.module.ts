import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { Clock } from '../clock';
import { validateEnvironment } from '../config/environment';
import { DatabaseModule } from '../database/database.module';

/** Configuration (validated at boot), structured JSON logs, the database pool and the clock. */
/**
 * Configuration (validated at boot), structured JSON logs, the database pool and the clock.
 * Dynamic so that the environment is read when the app is built, not when this file is imported.
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(): DynamicModule {
    return {
      module: PlatformModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validateEnvironment }),
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({
            pinoHttp: {
              level: config.get('LOG_LEVEL'),
              stream: config.get('LOG_DESTINATION') === 'stderr' ? pino.destination(2) : undefined,
              // The request id is Fastify's (apps/api/src/http/http-adapter.ts: the caller's x-request-id, or a new uuid); pino-http logs it.
              // Never log credentials.
              redact: ['req.headers.authorization', 'req.headers.cookie'],
              autoLogging: { ignore: (req) => req.url === '/metrics' || (req.url ?? '').startsWith('/health') },
            },
          }),
        }),
        DatabaseModule,
      ],
      providers: [Clock],
      exports: [Clock],
    };
  }
}
