import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { Clock } from '../clock';
import { validateEnvironment } from '../config/environment';
import { DatabaseModule } from '../database/database.module';
import { rootLogger } from './logger';

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
          // useExisting: inside a request, log calls go to the request's own child logger (Fastify's, carrying the
          // request id); outside one, to the root logger. See logger.ts for why not pino-http.
          useFactory: (config: ConfigService) => ({
            pinoHttp: { logger: rootLogger(config.get('LOG_LEVEL') ?? 'info', config.get('LOG_DESTINATION') ?? 'stdout') },
            useExisting: true,
          }),
        }),
        DatabaseModule,
      ],
      providers: [Clock],
      exports: [Clock],
    };
  }
}
