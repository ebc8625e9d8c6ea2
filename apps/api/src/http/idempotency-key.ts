import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { FieldProblem, problemsOf, ValidationError } from '@app/shared';
import type { BodyRequest } from './validation.pipe';

/** The Idempotency-Key header (IETF draft-ietf-httpapi-idempotency-key-header): absent, or 1-255 printable ASCII characters. */
export function idempotencyKeyOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  if (!/^[\x20-\x7e]{1,255}$/.test(header) || header.trim() === '') {
    throw new ValidationError('Idempotency-Key', 'must be 1 to 255 printable ASCII characters');
  }
  return header;
}

/** The header's problem, for a refused body to name it too (SPEC §9): `@BodyWith(Dto, idempotencyKeyProblems)`. */
export const idempotencyKeyProblems = (_body: unknown, request: BodyRequest): readonly FieldProblem[] => problemsOf(() => idempotencyKeyOf(request.headers['idempotency-key']));

/** A handler's Idempotency-Key, checked (400 naming it otherwise); null when the request sent none. */
export const IdempotencyKey = createParamDecorator((_: unknown, ctx: ExecutionContext): string | null =>
  idempotencyKeyOf(ctx.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers['idempotency-key']),
);

/**
 * The header in the OpenAPI document of a creation that takes it: `per`, what one key stands for; `retry`, what a retry
 * with the same key and body does.
 */
export const ApiIdempotencyKey = (per: string, retry: string) =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: `Any string of 1 to 255 printable ASCII characters, unique per ${per}. ${retry}; the same key with another body is answered 422.`,
  });
