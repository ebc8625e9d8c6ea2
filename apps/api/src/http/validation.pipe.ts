import { ArgumentMetadata, BadRequestException, createParamDecorator, ExecutionContext, ValidationError, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
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
 * Deepest nesting a body may have. No DTO nests beyond four levels; class-transformer recurses with a deep stack per
 * level and overflowed at 2,000–3,000 levels that this walk passed (a 500, and a whole batch lost for one item).
 */
const MAX_DEPTH = 32;
const TOO_DEEP = 'body is nested too deeply';

/** Not a lone UTF-16 surrogate (JSON's "\ud800" parses to one): Postgres refuses it in text and jsonb. */
export const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * What the DTO rules cannot see, at any depth, as messages naming the field: `__proto__`/`constructor` keys, strings
 * holding NUL or a lone surrogate (Postgres refuses both in text and jsonb: a 500 from the append), and nesting deeper
 * than MAX_DEPTH. Allocates nothing on the common path.
 */
function unseenByRules(value: unknown, parent = '', found: string[] = [], depth = 0): string[] {
  if (value === null || typeof value !== 'object') return found;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const path = parent ? `${parent}.${key}` : key;
    if (DROPPED_KEYS.has(key)) found.push(`${path}: property ${path} should not exist`);
    const child = (value as Record<string, unknown>)[key];
    if (typeof child === 'string') {
      if (child.includes('\0')) found.push(`${path}: must not contain the NUL character`);
      if (!isWellFormed(child)) found.push(`${path}: must be well-formed Unicode text (it holds a lone UTF-16 surrogate)`);
    } else if (child !== null && typeof child === 'object') {
      if (depth + 1 >= MAX_DEPTH) found.push(`${path}: must not be nested more than ${MAX_DEPTH} levels deep`);
      else unseenByRules(child, path, found, depth + 1);
    }
  }
  return found;
}

/** Nesting deeper than the stack (a body of 200,000 brackets) is the client's fault, not a 500. */
function refusedInput(value: unknown): string[] {
  try {
    return unseenByRules(value);
  } catch (err) {
    if (err instanceof RangeError) return [TOO_DEEP];
    throw err;
  }
}

/** The properties of each DTO class that class-validator checks as a UUID (@IsUUID), found once per class. */
const uuidProperties = new Map<Function, string[]>();

function uuidPropertiesOf(cls: Function): string[] {
  let names = uuidProperties.get(cls);
  if (!names) {
    const metadata = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false);
    names = [...new Set(metadata.filter((m) => m.name === 'isUuid').map((m) => m.propertyName))];
    uuidProperties.set(cls, names);
  }
  return names;
}

/**
 * UUIDs in lower case, at any depth of a validated DTO: RFC 4122 makes them case-insensitive and .NET diallers send
 * them upper-case, but streams (`contact-<id>`) and the agents' maps are keyed by the text, so an upper-case contact id
 * read fine (Postgres' uuid type) and was 404 to every write, its timeline empty.
 */
function lowercaseUuids(instance: unknown, depth = 0): void {
  if (instance === null || typeof instance !== 'object' || depth > MAX_DEPTH) return;
  if (Array.isArray(instance)) {
    for (const item of instance) lowercaseUuids(item, depth + 1);
    return;
  }
  const record = instance as Record<string, unknown>;
  if (record.constructor !== Object) {
    for (const name of uuidPropertiesOf(record.constructor)) {
      const v = record[name];
      if (typeof v === 'string') record[name] = v.toLowerCase();
      else if (Array.isArray(v)) record[name] = v.map((x) => (typeof x === 'string' ? x.toLowerCase() : x));
    }
  }
  for (const key in record) {
    const v = record[key];
    if (v !== null && typeof v === 'object') lowercaseUuids(v, depth + 1);
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
      // a DTO is an object: an array (which class-transformer maps item by item) or a scalar is no body of it
      if (metadata.type === 'body' && value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
        throw new BadRequestException(['body must be a JSON object']);
      }
      const refused = refusedInput(value);
      if (refused.length) throw new BadRequestException(refused);
    }
    const transformed = await super.transform(value, metadata);
    // DTOs only: not a custom decorator's value (a raw batch body, validated item by item; the actor)
    if (metadata.type === 'body' || metadata.type === 'query') lowercaseUuids(transformed);
    return transformed;
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
  if (errors.length) return { errors: flatten(errors) };
  lowercaseUuids(instance);
  return { value: instance };
}
