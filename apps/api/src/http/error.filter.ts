import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { DomainError, ErrorCode, isDatabaseUnavailable, ValidationError } from '@app/shared';
import { FastifyReply } from 'fastify';

export const DOMAIN_STATUS: Record<ErrorCode, number> = {
  [ErrorCode.Validation]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.Concurrency]: 409,
  [ErrorCode.IdempotencyKeyReused]: 422,
};

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Seconds a client is told to wait (Retry-After) when the database cannot be reached. */
const RETRY_AFTER_SECONDS = 1;


/** Every error leaves as { statusCode, error, message } (SPEC §9). Only our own faults are 500s. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    // A 503 thrown on purpose is an answer, sent as it was made: Terminus's readiness answer names the check that
    // failed ({ status, info, error, details }), which the database-unavailable message would hide.
    if (exception instanceof HttpException && exception.getStatus() === HttpStatus.SERVICE_UNAVAILABLE) {
      const body = exception.getResponse();
      if (typeof body === 'object') {
        void reply.status(HttpStatus.SERVICE_UNAVAILABLE).send(body);
        return;
      }
    }
    const { statusCode, message, databaseUnavailable } = this.describe(exception);
    if (databaseUnavailable) {
      this.logger.warn({ err: exception }, 'database unavailable');
      void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    } else if (statusCode >= 500) this.logger.error({ err: exception }, 'unhandled error');
    void reply.status(statusCode).send({ statusCode, error: REASON[statusCode] ?? 'Error', message });
  }

  private describe(exception: unknown): { statusCode: number; message: string | string[]; databaseUnavailable?: true } {
    // Several bad fields are listed one message each, as the validation pipe lists them; one stays a string.
    if (exception instanceof ValidationError && exception.problems.length > 1) {
      return { statusCode: DOMAIN_STATUS[exception.code], message: exception.problems.map((p) => p.message) };
    }
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
    if (isDatabaseUnavailable(exception)) {
      return { statusCode: HttpStatus.SERVICE_UNAVAILABLE, message: 'the database is unavailable; retry shortly', databaseUnavailable: true };
    }
    return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, message: 'internal error' };
  }
}
