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

/** One bad field of an input: `message` starts with the field's full path (`followUp.scheduledAt must be …`). */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/** A problem of `field`, its message starting with the field's path (prefixed when it does not already). */
export const fieldProblem = (field: string, message: string): FieldProblem => ({ field, message: message.startsWith(field) ? message : `${field} ${message}` });

export class ValidationError extends DomainError {
  /** Every bad field found (SPEC §9: a 400 names each), in the order checked; one when thrown at the first. */
  readonly problems: readonly FieldProblem[];

  constructor(field: string, message: string) {
    const problem = fieldProblem(field, message);
    super(ErrorCode.Validation, problem.message, field);
    this.problems = [problem];
  }

  /** One error for several problems (at least one): its message joins theirs with '; ', as a batch item's error does. */
  static of(problems: readonly FieldProblem[]): ValidationError {
    if (problems.length === 0) throw new Error('ValidationError.of needs a problem');
    const error = new ValidationError(problems[0].field, problems.map((p) => p.message).join('; '));
    (error as { problems: readonly FieldProblem[] }).problems = problems;
    return error;
  }
}

/** The problems `check` throws as a ValidationError, [] when it passes; any other error is thrown on. */
export function problemsOf(check: () => unknown): readonly FieldProblem[] {
  try {
    check();
    return [];
  } catch (error) {
    if (error instanceof ValidationError) return error.problems;
    throw error;
  }
}

/** `field` is `name` or lies under it (`followUp.type` under `followUp`). */
export const isFieldUnder = (field: string, name: string): boolean => field === name || (field.startsWith(name) && field[name.length] === '.');

/**
 * `first`, then each problem of `then` whose field none of `first` names, nor lies under one it names: a later check
 * of a field an earlier one refused adds no second message for it.
 */
export function mergeProblems(first: readonly FieldProblem[], then: readonly FieldProblem[]): FieldProblem[] {
  return [...first, ...then.filter((p) => !first.some((q) => isFieldUnder(p.field, q.field)))];
}

/**
 * `error`, naming also every problem `more` finds when it is a ValidationError (checks that stop at their first
 * failure, answered with all of the input's problems: SPEC §9). `more` runs only then, so valid input costs nothing;
 * should it fail on input no check foresaw, the error is answered as it was.
 */
export function withEveryProblem(error: unknown, more: () => readonly FieldProblem[]): unknown {
  if (!(error instanceof ValidationError)) return error;
  let found: readonly FieldProblem[];
  try {
    found = more();
  } catch {
    return error;
  }
  return found.length === 0 ? error : ValidationError.of(mergeProblems(found, error.problems));
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
