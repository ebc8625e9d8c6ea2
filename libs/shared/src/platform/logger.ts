import pino, { Logger } from 'pino';

const loggers = new Map<string, Logger>();

/**
 * The process's root logger for a level and destination, one instance per pair (tests build several apps in one
 * process). HTTP logs through it too: Fastify makes each request's child logger from it (apps/api/src/http/
 * http-adapter.ts), and nestjs-pino hands that child to every log call made while the request runs.
 *
 * Why not pino-http (nestjs-pino's default): it serialised every request (headers included, then redacted) into a
 * new child logger before the handler ran, even at LOG_LEVEL=warn where nothing of it is written: 7.7 % of the
 * service's CPU in a profile of single call pushes. Fastify's child carries only the request id.
 */
export function rootLogger(level: string, destination: 'stdout' | 'stderr'): Logger {
  const key = `${level}|${destination}`;
  let logger = loggers.get(key);
  if (!logger) {
    logger = pino({
      level,
      // Never log credentials, should anything log a request's headers.
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    }, pino.destination(destination === 'stderr' ? 2 : 1));
    loggers.set(key, logger);
  }
  return logger;
}
