import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { DomainError, ErrorCode } from '@app/shared';
import { FastifyReply } from 'fastify';

export const DOMAIN_STATUS: Record<ErrorCode, number> = {
  [ErrorCode.Validation]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.Concurrency]: 409,
};

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Seconds a client is told to wait (Retry-After) when the database cannot be reached. */
const RETRY_AFTER_SECONDS = 1;

/**
 * Whether an error says the database could not be reached or dropped the connection (a restart, a failover,
 * terminated backends, a full connection table), not that a statement was wrong: SQLSTATE class 08 (connection
 * exception), 57P01-57P03 (shut down, cannot connect now), 53300 (too many connections), a database not accepting
 * connections, and node-postgres's own errors for a cut or unopenable connection.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
  if (code === '55000' && message.includes('not currently accepting connections')) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code)) return true;
  return /^Connection terminated|^timeout exceeded when trying to connect|^Client has encountered a connection error/.test(message);
}

/** Every error leaves as { statusCode, error, message } (SPEC §9). Only our own faults are 500s. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { statusCode, message } = this.describe(exception);
    if (statusCode === 503) {
      this.logger.warn({ err: exception }, 'database unavailable');
      void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    } else if (statusCode >= 500) this.logger.error({ err: exception }, 'unhandled error');
    void reply.status(statusCode).send({ statusCode, error: REASON[statusCode] ?? 'Error', message });
  }

  private describe(exception: unknown): { statusCode: number; message: string | string[] } {
    if (exception instanceof DomainError) return { statusCode: DOMAIN_STATUS[exception.code], message: exception.message };
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const message = typeof body === 'string' ? body : ((body as { message?: string | string[] }).message ?? exception.message);
      return { statusCode: exception.getStatus(), message };
    }
    // Fastify's own refusals before a handler runs (body too large, a content type it does not take, a URL it
    // cannot decode) carry their 4xx status; malformed JSON is mapped in http-adapter.ts.
    const e = exception as { statusCode?: number; message?: string };
    if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return { statusCode: e.statusCode, message: e.message ?? 'bad request' };
    // Not the client's fault and not ours: the same request succeeds once the database is back (every push is
    // idempotent), which a 503 with Retry-After tells a dialler's retry loop; a 500 says "a bug, don't retry".
    if (isDatabaseUnavailable(exception)) return { statusCode: HttpStatus.SERVICE_UNAVAILABLE, message: 'the database is unavailable; retry shortly' };
    return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, message: 'internal error' };
  }
}
