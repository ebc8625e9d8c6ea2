import 'reflect-metadata';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { CommandFactory } from 'nest-commander';
import { Logger, PinoLogger } from 'nestjs-pino';
import { ensureDatabase, rootLogger, runMigrations, validateEnvironment } from '@app/shared';
import { REDIS_OUTAGE_LOG_LEVEL } from '@app/queue';
import { AppModule } from '../../api/src/app.module';
import { BOOT_MIGRATIONS, CLI_COMMANDS } from './commands';

/** A command that cannot reach Redis says so in its one-line message (jobs:reconcile's); the connection errors go to debug. */
@Global()
@Module({ providers: [{ provide: REDIS_OUTAGE_LOG_LEVEL, useValue: 'debug' }], exports: [REDIS_OUTAGE_LOG_LEVEL] })
class CliRedisOutageModule {}

@Module({})
class CliModule {
  /** `applied`: the migrations this process applied before booting, which `migrate` reports. */
  static forRoot(applied: string[]): DynamicModule {
    return {
      module: CliModule,
      imports: [CliRedisOutageModule, AppModule.forRoot({ api: false, worker: false })],
      providers: [...CLI_COMMANDS, { provide: BOOT_MIGRATIONS, useValue: applied }],
    };
  }
}

async function main(): Promise<void> {
  // unset or blank (as the README's table says of every variable): stderr and warn, keeping stdout for the answer
  if (!process.env.LOG_DESTINATION?.trim()) process.env.LOG_DESTINATION = 'stderr';
  if (!process.env.LOG_LEVEL?.trim()) process.env.LOG_LEVEL = 'warn';
  try {
    const env = validateEnvironment(process.env);
    await ensureDatabase(env.DATABASE_URL);
    // Before any command, as every other one needs the schema; `migrate` reports what this applied.
    const applied = await runMigrations(env.DATABASE_URL);
    // The answer is the only line on stdout: Nest's own logger would print warnings there, so every log line of the
    // process, from the first, goes through the app's pino logger to LOG_DESTINATION (stderr).
    const logger = new Logger(new PinoLogger({ pinoHttp: { logger: rootLogger(env.LOG_LEVEL, env.LOG_DESTINATION) } }), {});
    await CommandFactory.run(CliModule.forRoot(applied), {
      logger,
      // Commander's own exits: it has printed the help (exit 0), or its error (`error: unknown command 'bogus'`, exit 1)
      // already; printing the message again showed "(outputHelp)" after the help, and every error twice.
      errorHandler: (err) => process.exit((err as Error & { exitCode?: number }).exitCode ?? 1),
      serviceErrorHandler: (err) => {
        process.stderr.write(`${err.message}\n`);
        process.exit(1);
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}

void main();
