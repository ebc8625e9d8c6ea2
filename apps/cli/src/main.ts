import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { CommandFactory } from 'nest-commander';
import { ensureDatabase, runMigrations, validateEnvironment } from '@app/shared';
import { AppModule } from '../../api/src/app.module';
import { CLI_COMMANDS } from './commands';

@Module({ imports: [AppModule.forRoot({ api: false, worker: false })], providers: CLI_COMMANDS })
class CliModule {}

async function main(): Promise<void> {
  process.env.LOG_DESTINATION ??= 'stderr';
  process.env.LOG_LEVEL ??= 'warn';
  try {
    const env = validateEnvironment(process.env);
    await ensureDatabase(env.DATABASE_URL);
    await runMigrations(env.DATABASE_URL);
    await CommandFactory.run(CliModule, {
      logger: ['error', 'warn'],
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
