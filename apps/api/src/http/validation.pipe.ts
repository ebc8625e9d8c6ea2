import { ArgumentMetadata, BadRequestException, createParamDecorator, ExecutionContext, ValidationError, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Actor, FieldProblem, isFieldUnder, mergeProblems } from '@app/shared';

/** class-validator's errors, each message starting with the full path of its field. */
/**
 * The bounds of a value that is not a number at all say nothing true of it: `limit=abc` was answered "limit must be a
 * positive integer" and "limit must not be greater than 200". Only its type is named then.
 */
const BOUNDS = new Set(['min', 'max']);

function ownMessages(constraints: Record<string, string>): string[] {
  const notANumber = 'isInt' in constraints || 'isNumber' in constraints;
  return Object.entries(constraints)
    .filter(([name]) => !(notANumber && BOUNDS.has(name)))
    .map(([, message]) => message);
}

function flatten(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = ownMessages(e.constraints ?? {}).map((m) => ({ field: path, message: m.startsWith(e.property) ? `${path}${m.slice(e.property.length)}` : `${path}: ${m}` }));
    return [...own, ...flatten(e.children ?? [], path)];
  });
}

const messagesOf = (problems: readonly FieldProblem[]): string[] => problems.map((p) => p.message);

// class-transformer drops these keys before the whitelist looks, so they would pass silently instead of being refused.
const DROPPED_KEYS = new Set(['__proto__', 'constructor']);

/**
 * Deepest nesting a body may have. No DTO nests beyond four levels; class-transformer recurses with a deep stack per
 * level and overflowed at 2,000–3,000 levels that this walk passed (a 500, and a whole batch lost for one item).
 */
const MAX_DEPTH = 32;
const TOO_DEEP = 'body is nested too deeply';
const NESTED = `must not be nested more than ${MAX_DEPTH} levels deep`;

/** Nesting past MAX_DEPTH is answered alone: the DTO's rules would walk all of it. */
const isTooDeep = (p: FieldProblem): boolean => p.message === TOO_DEEP || p.message.endsWith(NESTED);

/** Not a lone UTF-16 surrogate (JSON's "\ud800" parses to one): Postgres refuses it in text and jsonb. */
export const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * What the DTO rules cannot see, at any depth, as messages naming the field: `__proto__`/`constructor` keys, strings
 * holding NUL or a lone surrogate (Postgres refuses both in text and jsonb: a 500 from the append), and nesting deeper
 * than MAX_DEPTH. Allocates nothing on the common path.
 */
function unseenByRules(value: unknown, parent = '', found: FieldProblem[] = [], depth = 0): FieldProblem[] {
  if (value === null || typeof value !== 'object') return found;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const path = parent ? `${parent}.${key}` : key;
    if (DROPPED_KEYS.has(key)) found.push({ field: path, message: `${path}: property ${path} should not exist` });
    const child = (value as Record<string, unknown>)[key];
    if (typeof child === 'string') {
      if (child.includes('\0')) found.push({ field: path, message: `${path}: must not contain the NUL character` });
      if (!isWellFormed(child)) found.push({ field: path, message: `${path}: must be well-formed Unicode text (it holds a lone UTF-16 surrogate)` });
    } else if (child !== null && typeof child === 'object') {
      if (depth + 1 >= MAX_DEPTH) found.push({ field: path, message: `${path}: ${NESTED}` });
      else unseenByRules(child, path, found, depth + 1);
    }
  }
  return found;
}

/**
 * A copy of a body without what refusedInput names (those keys left out, those strings made well-formed and without
 * NUL), for the DTO's rules to read instead, so that one 400 names the body's other bad fields too: the rules throw on
 * such input (class-transformer on a `constructor` key, isEmail on a lone surrogate: a 500). Made only for a body
 * refusedInput refused, and nested less than MAX_DEPTH.
 */
function withoutUnseen(value: unknown): unknown {
  if (typeof value === 'string') return isWellFormed(value) && !value.includes('\0') ? value : toWellFormed(value).replaceAll('\0', '');
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(withoutUnseen);
  const copy: Record<string, unknown> = {};
  for (const key in value) {
    if (Object.prototype.hasOwnProperty.call(value, key) && !DROPPED_KEYS.has(key)) copy[key] = withoutUnseen((value as Record<string, unknown>)[key]);
  }
  return copy;
}

const toWellFormed = (s: string): string => (s as string & { toWellFormed(): string }).toWellFormed();

/** Nesting deeper than the stack (a body of 200,000 brackets) is the client's fault, not a 500. */
function refusedInput(value: unknown): FieldProblem[] {
  try {
    return unseenByRules(value);
  } catch (err) {
    if (err instanceof RangeError) return [{ field: 'body', message: TOO_DEEP }];
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

/**
 * What the domain refuses in a body that its DTO's rules let through (a timestamp without an offset, a callbackAt with
 * Called, a blank name...), by DTO class: functions of libs/ that find every such problem. They run only for a body
 * refused already, by the rules or by refusedInput, so that the one 400 names every bad field (SPEC §9): a body the
 * rules accept goes on to its handler, whose domain refuses it on its own with all of them, and costs nothing more
 * here. `failed(field)` says whether an earlier pass named the field (or one it lies in): a check that reads it skips
 * it, and a message for a field already named is dropped. What needs the database (an unknown contact, agent or
 * campaign: a 404, or a 400 after the lookup) is not checked here: the handler does, after this.
 */
export type InputCheck = (value: Record<string, unknown>, context: { now: Date; failed: (field: string) => boolean }) => readonly FieldProblem[];

const inputChecks = new Map<Function, InputCheck>();

export function registerInputCheck(cls: Function, check: InputCheck): void {
  inputChecks.set(cls, check);
}

/** `problems` (a refusal), and what the input check of `cls` finds besides. */
function withInputCheck(cls: Function | undefined, value: unknown, problems: FieldProblem[], now: () => Date): FieldProblem[] {
  const check = cls && inputChecks.get(cls);
  if (!check || value === null || typeof value !== 'object' || Array.isArray(value)) return problems;
  const failed = (field: string) => problems.some((p) => isFieldUnder(field, p.field));
  let found: readonly FieldProblem[];
  try {
    found = check(value as Record<string, unknown>, { now: now(), failed });
  } catch {
    return problems; // a body no check foresaw: the refusal stands as the rules made it, rather than a 500
  }
  return mergeProblems(problems, found);
}

/** class-validator's refusal, as problems, for the pipe to join to the others. */
class RefusedByRules extends BadRequestException {
  constructor(readonly problems: FieldProblem[]) {
    super(messagesOf(problems));
  }
}

class StrictValidationPipe extends ValidationPipe {
  constructor(private readonly now: () => Date) {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: false,
      exceptionFactory: (errors) => new RefusedByRules(flatten(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && fastChecks.get(metadata.metatype)?.(value)) return value;
    // DTOs only: not a custom decorator's value (a raw batch body, validated item by item; the actor)
    if (metadata.type !== 'body' && metadata.type !== 'query') return super.transform(value, metadata);
    // a DTO is an object: an array (which class-transformer maps item by item) or a scalar is no body of it
    if (metadata.type === 'body' && value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new BadRequestException(['body must be a JSON object']);
    }
    // One answer for every bad field: what the rules cannot see, the rules' own, then the domain's (withInputCheck).
    const unseen = refusedInput(value);
    if (unseen.some(isTooDeep)) throw new BadRequestException(messagesOf(unseen));
    const input = unseen.length ? withoutUnseen(value) : value;
    let transformed: unknown;
    let byRules: FieldProblem[] = [];
    try {
      transformed = await super.transform(input, metadata);
    } catch (error) {
      if (!(error instanceof RefusedByRules)) throw error;
      byRules = error.problems;
    }
    const problems = mergeProblems(unseen, byRules);
    if (problems.length) throw new BadRequestException(messagesOf(withInputCheck(metadata.metatype, input, problems, this.now)));
    lowercaseUuids(transformed);
    return transformed;
  }
}

/**
 * Whitelisted DTOs; unknown fields are refused; each message starts with the full path of its field. `now`, the
 * clock the domain's checks read (a call may start at most 24 h from now).
 */
export const validationPipe = (now: () => Date = () => new Date()) => new StrictValidationPipe(now);

export const flattenValidationErrors = (errors: ValidationError[]): string[] => messagesOf(flatten(errors));

/**
 * The parsed JSON body, untouched by the global pipe (which skips custom decorators): for a body the handler
 * validates in parts, like a batch of 1,000 calls, which the pipe would otherwise copy and walk whole.
 */
export const RawBody = createParamDecorator((_: unknown, ctx: ExecutionContext): unknown => ctx.switchToHttp().getRequest().body);

/** What a rule of BodyWith may read of the request besides the body. */
export interface BodyRequest {
  readonly actor: Actor;
  /** The path's parameters as sent (a UUID may be upper-case). */
  readonly params: Record<string, string>;
  readonly headers: Record<string, string | undefined>;
}

/**
 * A body of `cls` checked as the pipe checks one, whose refusal names also what `more` finds: rules that read the
 * request besides the body (who asks, the path, a header), which the pipe cannot see. Like the input checks, `more`
 * only joins a refusal the rules make (the rule is applied on its own elsewhere: the handler, the header's decorator).
 * Document the body with @ApiBody({ type: cls }).
 */
export const BodyWith = <T extends object>(cls: new () => T, more: (body: Record<string, unknown>, request: BodyRequest) => readonly FieldProblem[]) =>
  createParamDecorator((_: unknown, ctx: ExecutionContext): T => {
    const request = ctx.switchToHttp().getRequest<BodyRequest & { body: unknown }>();
    const value = request.body ?? {};
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BadRequestException(['body must be a JSON object']);
    const unseen = refusedInput(value);
    if (unseen.some(isTooDeep)) throw new BadRequestException(messagesOf(unseen));
    const input = (unseen.length ? withoutUnseen(value) : value) as Record<string, unknown>;
    const instance = plainToInstance(cls, input);
    const problems = mergeProblems(unseen, flatten(validateSync(instance, { whitelist: true, forbidNonWhitelisted: true })));
    if (problems.length) throw new BadRequestException(messagesOf(mergeProblems(withInputCheck(cls, input, problems, () => new Date()), more(input, request))));
    lowercaseUuids(instance);
    return instance;
  })();

/**
 * Validates a body's own fields with the rules of `cls` (unknown fields refused), without descending into
 * them: for the envelope of a batch whose items are validated one by one with validateItems.
 */
export function validateEnvelope<T extends object>(cls: new () => T, value: unknown): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new BadRequestException(['body must be a JSON object']);
  const refused = Object.keys(value)
    .filter((k) => DROPPED_KEYS.has(k))
    .map((k) => ({ field: k, message: `${k}: property ${k} should not exist` }));
  const fields = refused.length ? Object.fromEntries(Object.entries(value).filter(([k]) => !DROPPED_KEYS.has(k))) : value;
  const problems = mergeProblems(refused, flatten(validateSync(Object.assign(new cls(), fields), { whitelist: true, forbidNonWhitelisted: true })));
  if (problems.length) throw new BadRequestException(messagesOf(problems));
  return value as T;
}

/** Items validated between two turns of the event loop: about 2 ms of work on this project's benchmark machine. */
const ITEMS_PER_TURN = 32;

/**
 * validateItem for every item of a batch, giving the event loop back every ITEMS_PER_TURN items: validating
 * 1,000 calls takes tens of milliseconds of CPU, which would otherwise hold every other request (an agent's
 * hub, a health check) for that long.
 */
export async function validateItems<T extends object>(cls: new () => T, values: readonly unknown[], now = new Date()): Promise<({ value: T } | { errors: string[] })[]> {
  const out: ({ value: T } | { errors: string[] })[] = [];
  for (let i = 0; i < values.length; i++) {
    if (i > 0 && i % ITEMS_PER_TURN === 0) await nextTurn();
    out.push(validateItem(cls, values[i], now));
  }
  return out;
}

/** Validates one item of a batch with the same rules as a body, so one bad item is answered alone. */
export function validateItem<T extends object>(cls: new () => T, value: unknown, now = new Date()): { value: T } | { errors: string[] } {
  if (fastChecks.get(cls)?.(value)) return { value: value as T };
  return validateByRules(cls, value, now);
}

/** validateItem by the class's class-validator rules alone (no fast check); a refusal names every bad field, as the pipe's. */
export function validateByRules<T extends object>(cls: new () => T, value: unknown, now = new Date()): { value: T } | { errors: string[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { errors: ['item must be an object'] };
  const unseen = refusedInput(value);
  if (unseen.some(isTooDeep)) return { errors: messagesOf(unseen) };
  const input = unseen.length ? withoutUnseen(value) : value;
  const instance = plainToInstance(cls, input);
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true });
  // a valid item (most of a batch that missed the fast check) allocates nothing more
  if (unseen.length || errors.length) return { errors: messagesOf(withInputCheck(cls, input, mergeProblems(unseen, flatten(errors)), () => now)) };
  lowercaseUuids(instance);
  return { value: instance };
}
