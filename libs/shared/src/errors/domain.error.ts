/** Codes the HTTP layer maps to status codes; libs never throw HttpException. */
export enum ErrorCode {
  Validation = 'validation',
  Unauthorized = 'unauthorized',
  Forbidden = 'forbidden',
  NotFound = 'not_found',
  Conflict = 'conflict',
  Concurrency = 'concurrency',
  IdempotencyKeyReused = 'idempotency_key_reused',
}

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  constructor(field: string, message: string) {
    super(ErrorCode.Validation, message.startsWith(field) ? message : `${field} ${message}`, field);
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, id?: string) {
    super(ErrorCode.NotFound, id ? `${what} ${id} not found` : `${what} not found`);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super(ErrorCode.Forbidden, message);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = 'missing or invalid API key') {
    super(ErrorCode.Unauthorized, message);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super(ErrorCode.Conflict, message);
  }
}

/**
 * An Idempotency-Key sent again with another request than the one it was first used with: answering the first
 * request's record would tell the client its second request was carried out. draft-ietf-httpapi-idempotency-key-header
 * asks for a 422 (Unprocessable Content).
 */
export class IdempotencyKeyReusedError extends DomainError {
  constructor() {
    super(
      ErrorCode.IdempotencyKeyReused,
      'Idempotency-Key was already used with a different request: a retry must repeat the first request, a new request needs a new key',
      'Idempotency-Key',
    );
  }
}
