import { INestApplication, ShutdownSignal } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { Actor, Clock, ensureDatabase, rootLogger, runMigrations, validateEnvironment } from '@app/shared';
import { AppModule, Roles } from './app.module';
import { Authenticator } from './auth/authenticator';
import { createHttpAdapter } from './http/http-adapter';
import { validationPipe } from './http/validation.pipe';

/** Builds the application for the given roles without listening (tests use this too). HTTP: http/http-adapter.ts. */
export async function createApp(roles: Roles, options: { migrate?: boolean } = {}): Promise<NestFastifyApplication> {
  const env = validateEnvironment(process.env); // fail fast, before anything connects
  if (options.migrate ?? true) {
    await ensureDatabase(env.DATABASE_URL);
    await runMigrations(env.DATABASE_URL);
  }
  const adapter = createHttpAdapter(rootLogger(env.LOG_LEVEL, env.LOG_DESTINATION), env.TRUST_PROXY);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(roles), adapter, { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  // Every line from here on is written at once: buffered until listen(), a boot held up (Redis away, say) said nothing.
  app.flushLogs();
  const clock = app.get(Clock);
  app.useGlobalPipes(validationPipe(() => clock.now()));
  // A clean stop exits 0 (Nest re-raised the signal instead: 143 after a SIGTERM, and nothing at all as PID 1 without an init)
  app.enableShutdownHooks([], { useProcessExit: true });
  if (roles.api) {
    authenticateBeforeBody(app);
    setupOpenApi(app);
  }
  return app;
}

/**
 * A request to the API that carries a body is authenticated before the body is read (a Fastify onRequest hook, which
 * runs before the parser; Nest's guards run after it): the API parsed up to 5 MB of JSON for anyone, key or not (a
 * security review measured 45 ms of CPU a request, and the failed-authentication limit did not count them), and went
 * on parsing after an address was refused. The actor goes on the request, where ApiKeyGuard finds it. Only routes
 * that exist and need a key (everything under /api/ but the docs): an unknown path stays a 404. A public route with a
 * body (none is, today) would have to be left out here as the docs are: this hook does not see @Public().
 */
function authenticateBeforeBody(app: NestFastifyApplication): void {
  const authenticator = app.get(Authenticator);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', async (req, reply) => {
      const route = req.routeOptions.url;
      if (!route?.toLowerCase().startsWith('/api/') || route.toLowerCase().startsWith('/api/docs')) return;
      const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
      if (!hasBody) return;
      (req as unknown as { actor: Actor }).actor = await authenticator.authenticate(req, (name, value) => void reply.header(name, value));
    });
}

function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Follow-up engine')
    .setDescription('Calls, notes and follow-ups for call centres: ingest, scheduling, the follow-ups hub and reports.')
    .setVersion('0.1.0')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      // Not a JWT (the library's default): an opaque key, looked up by its hash.
      bearerFormat: 'API key',
      description:
        'An API key: an opaque string, "fk_" and 43 more characters, shown once when issued (POST /api/users, POST /api/users/{id}/api-keys) and ' +
        'stored only as a hash. Send it as Authorization: Bearer fk_…',
    })
    .build();
  SwaggerModule.setup('api/docs', app, () => SwaggerModule.createDocument(app, config), { jsonDocumentUrl: 'api/docs-json' });
}

export async function serve(roles: Roles): Promise<void> {
  try {
    const app = await createApp(roles);
    const { PORT: port, SHUTDOWN_TIMEOUT_MS } = validateEnvironment(process.env);
    boundShutdown(SHUTDOWN_TIMEOUT_MS, app.get(Logger));
    // Every interface, as Node's own default: IPv6 and IPv4 where the host has IPv6, IPv4 alone where it does not.
    // (Fastify alone would listen on localhost only.)
    await app.listen(port, '::').catch((err: { code?: string }) => {
      if (err.code !== 'EAFNOSUPPORT' && err.code !== 'EADDRNOTAVAIL') throw err;
      return app.listen(port, '0.0.0.0');
    });
    // nestjs-pino's Logger takes a call's last string as its context: the context goes last, or the text lands there
    app.get(Logger).log({ port, roles }, 'follow-up engine listening', 'Bootstrap');
  } catch (err) {
    // Configuration errors are for humans: print them plainly.
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}

/**
 * A stop that does not end within `ms` ends the process with exit code 1 and an error line saying so. Closing waits for
 * the running jobs, whose completions are Redis commands: with Redis away BullMQ's close never ends
 * (taskforcesh/bullmq#4656, open), and the process waited for a SIGKILL. Nest's own signal handlers close the app; this
 * only sets a deadline beside them (unref'd: a close that ends lets the process end as before).
 */
function boundShutdown(ms: number, logger: Logger): void {
  // every signal enableShutdownHooks() closes the app on
  for (const signal of Object.values(ShutdownSignal)) {
    process.once(signal, () => {
      setTimeout(() => {
        logger.error({ signal, shutdownTimeoutMs: ms }, 'shutdown did not finish in SHUTDOWN_TIMEOUT_MS: exiting with code 1 (running jobs are handed out again)', 'Shutdown');
        // the line above is written before the exit (pino writes synchronously to stdout)
        process.exit(1);
      }, ms).unref();
    });
  }
}
