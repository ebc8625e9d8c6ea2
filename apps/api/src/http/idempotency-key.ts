import { ValidationError } from '@app/shared';

/** The Idempotency-Key header (IETF draft-ietf-httpapi-idempotency-key-header): absent, or 1-255 printable ASCII characters. */
export function idempotencyKeyOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  if (!/^[\x20-\x7e]{1,255}$/.test(header) || header.trim() === '') {
    throw new ValidationError('Idempotency-Key', 'must be 1 to 255 printable ASCII characters');
  }
  return header;
}
