import { BadRequestException, INestApplication } from '@nestjs/common';
import { json, NextFunction, Request, Response } from 'express';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { ensureDatabase, runMigrations, validateEnvironment } from '@app/shared';
import { AppModule, Roles } from './app.module';
import { validationPipe } from './http/validation.pipe';

/** Builds the application for the given roles without listening (tests use this too). */
export async function createApp(roles: Roles, options: { migrate?: boolean } = {}): Promise<NestExpressApplication> {
  const env = validateEnvironment(process.env); // fail fast, before anything connects
  if (options.migrate ?? true) {
    await ensureDatabase(env.DATABASE_URL);
    await runMigrations(env.DATABASE_URL);
  }
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(roles), { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  // A batch of 1,000 calls is well under 2 MB. Parse errors are the client's: 400 naming the body.
  const parseJson = json({ limit: '5mb' });
  app.use((req: Request, res: Response, next: NextFunction) =>
    parseJson(req, res, (err?: { type?: string; message?: string }) => {
      if (err?.type === 'entity.parse.failed') return next(new BadRequestException(`body is not valid JSON: ${err.message}`));
      next(err);
    }),
  );
  app.useGlobalPipes(validationPipe());
  app.enableShutdownHooks();
  if (roles.api) setupOpenApi(app);
  return app;
}

function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Follow-up engine')
    .setDescription('Calls, notes and follow-ups for call centres: ingest, scheduling, the follow-ups hub and reports.')
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key' })
    .build();
  SwaggerModule.setup('api/docs', app, () => SwaggerModule.createDocument(app, config), { jsonDocumentUrl: 'api/docs-json' });
}

export async function serve(roles: Roles): Promise<void> {
  try {
    const app = await createApp(roles);
    const port = validateEnvironment(process.env).PORT;
    await app.listen(port);
    app.get(Logger).log({ port, roles }, 'follow-up engine listening');
  } catch (err) {
    // Configuration errors are for humans: print them plainly.
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
