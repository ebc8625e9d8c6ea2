import { ArgumentMetadata, BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';

function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((m) => (m.startsWith(e.property) ? `${path}${m.slice(e.property.length)}` : `${path}: ${m}`));
    return [...own, ...flatten(e.children ?? [], path)];
  });
}

// class-transformer drops these keys before the whitelist looks, so they would pass silently instead of being refused.
const DROPPED_KEYS = new Set(['__proto__', 'constructor']);

function droppedKeys(value: unknown, parent = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.keys(value).flatMap((key) => {
    const path = parent ? `${parent}.${key}` : key;
    const own = DROPPED_KEYS.has(key) ? [`${path}: property ${path} should not exist`] : [];
    return [...own, ...droppedKeys((value as Record<string, unknown>)[key], path)];
  });
}

class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query') {
      const refused = droppedKeys(value);
      if (refused.length) throw new BadRequestException(refused);
    }
    return super.transform(value, metadata);
  }
}

/** Whitelisted DTOs; unknown fields are refused; each message starts with the full path of its field. */
export const validationPipe = () =>
  new StrictValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => new BadRequestException(flatten(errors)),
  });

export const flattenValidationErrors = flatten;

/** Validates one item of a batch with the same rules as a body, so one bad item is answered alone. */
export function validateItem<T extends object>(cls: new () => T, value: unknown): { value: T } | { errors: string[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { errors: ['item must be an object'] };
  const refused = droppedKeys(value);
  if (refused.length) return { errors: refused };
  const instance = plainToInstance(cls, value);
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true });
  return errors.length ? { errors: flatten(errors) } : { value: instance };
}
