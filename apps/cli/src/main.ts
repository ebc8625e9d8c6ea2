import 'reflect-metadata';
import { DynamicModule, Module } from '@nestjs/common';
import { CommandFactory } from 'nest-commander';
import { Logger, PinoLogger } from 'nestjs-pino';
import { ensureDatabase, rootLogger, runMigrations, validateEnvironment } from '@app/shared';
import { AppModule } from '../../api/src/app.module';
import { BOOT_MIGRATIONS, CLI_COMMANDS } from './commands';

@Module({})
class CliModule {
  /** `applied`: the migrations this process applied before booting, which `migrate` reports. */
  static forRoot(applied: string[]): DynamicModule {
    return {
      module: CliModule,
      imports: [AppModule.forRoot({ api: false, worker: false })],
      providers: [...CLI_COMMANDS, { provide: BOOT_MIGRATIONS, useValue: applied }],
    };
  }
}

async function main(): Promise<void> {
  // unset or empty (as the README's table says of every variable): stderr and warn, keeping stdout for the answer
  process.env.LOG_DESTINATION ||= 'stderr';
  process.env.LOG_LEVEL ||= 'warn';
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
      errorHandler: (err) => {
        process.stderr.write(`${err.message}\n`);
        process.exit(1);
      },
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
