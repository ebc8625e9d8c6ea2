import { ArgumentMetadata, BadRequestException, createParamDecorator, ExecutionContext, ValidationError, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { setImmediate as nextTurn } from 'node:timers/promises';

function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((m) => (m.startsWith(e.property) ? `${path}${m.slice(e.property.length)}` : `${path}: ${m}`));
    return [...own, ...flatten(e.children ?? [], path)];
  });
}

// class-transformer drops these keys before the whitelist looks, so they would pass silently instead of being refused.
const DROPPED_KEYS = new Set(['__proto__', 'constructor']);

/**
 * What the DTO rules cannot see, at any depth, as messages naming the field: `__proto__`/`constructor` keys, and
 * strings holding NUL (Postgres refuses the character in text and jsonb). Allocates nothing on the common path.
 */
function unseenByRules(value: unknown, parent = '', found: string[] = []): string[] {
  if (value === null || typeof value !== 'object') return found;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const path = parent ? `${parent}.${key}` : key;
    if (DROPPED_KEYS.has(key)) found.push(`${path}: property ${path} should not exist`);
    const child = (value as Record<string, unknown>)[key];
    if (typeof child === 'string') {
      if (child.includes('\0')) found.push(`${path}: must not contain the NUL character`);
    } else if (child !== null && typeof child === 'object') unseenByRules(child, path, found);
  }
  return found;
}

/** Nesting deeper than the stack (a body of 200,000 brackets) is the client's fault, not a 500. */
function refusedInput(value: unknown): string[] {
  try {
    return unseenByRules(value);
  } catch (err) {
    if (err instanceof RangeError) return ['body is nested too deeply'];
    throw err;
  }
}

/**
 * "Certainly valid" tests by DTO class, for bodies a client sends many times a second (calls/call.fast-check.ts):
 * a body that passes is taken as it is; any other goes through class-validator, which alone words errors.
 * A test must never pass what the class's rules refuse; each has a unit test generating inputs to show it.
 */
const fastChecks = new Map<Function, (value: unknown) => boolean>();

export function registerFastCheck(cls: Function, check: (value: unknown) => boolean): void {
  fastChecks.set(cls, check);
}

class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && fastChecks.get(metadata.metatype)?.(value)) return value;
    if (metadata.type === 'body' || metadata.type === 'query') {
      const refused = refusedInput(value);
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

/**
 * The parsed JSON body, untouched by the global pipe (which skips custom decorators): for a body the handler
 * validates in parts, like a batch of 1,000 calls, which the pipe would otherwise copy and walk whole.
 */
export const RawBody = createParamDecorator((_: unknown, ctx: ExecutionContext): unknown => ctx.switchToHttp().getRequest().body);

/**
 * Validates a body's own fields with the rules of `cls` (unknown fields refused), without descending into
 * them: for the envelope of a batch whose items are validated one by one with validateItems.
 */
export function validateEnvelope<T extends object>(cls: new () => T, value: unknown): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BadRequestException(['body must be a JSON object']);
  const refused = Object.keys(value)
    .filter((k) => DROPPED_KEYS.has(k))
    .map((k) => `${k}: property ${k} should not exist`);
  if (refused.length) throw new BadRequestException(refused);
  const errors = validateSync(Object.assign(new cls(), value), { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) throw new BadRequestException(flatten(errors));
  return value as T;
}

/** Items validated between two turns of the event loop: about 2 ms of work on this project's benchmark machine. */
const ITEMS_PER_TURN = 32;

/**
 * validateItem for every item of a batch, giving the event loop back every ITEMS_PER_TURN items: validating
 * 1,000 calls takes tens of milliseconds of CPU, which would otherwise hold every other request (an agent's
 * hub, a health check) for that long.
 */
export async function validateItems<T extends object>(cls: new () => T, values: readonly unknown[]): Promise<({ value: T } | { errors: string[] })[]> {
  const out: ({ value: T } | { errors: string[] })[] = [];
  for (let i = 0; i < values.length; i++) {
    if (i > 0 && i % ITEMS_PER_TURN === 0) await nextTurn();
    out.push(validateItem(cls, values[i]));
  }
  return out;
}

/** Validates one item of a batch with the same rules as a body, so one bad item is answered alone. */
export function validateItem<T extends object>(cls: new () => T, value: unknown): { value: T } | { errors: string[] } {
  if (fastChecks.get(cls)?.(value)) return { value: value as T };
  return validateByRules(cls, value);
}

/** validateItem by the class's class-validator rules alone (no fast check). */
export function validateByRules<T extends object>(cls: new () => T, value: unknown): { value: T } | { errors: string[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { errors: ['item must be an object'] };
  const refused = refusedInput(value);
  if (refused.length) return { errors: refused };
  const instance = plainToInstance(cls, value);
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true });
  return errors.length ? { errors: flatten(errors) } : { value: instance };
}
