import { applyDecorators, ArgumentMetadata, ParseUUIDPipe } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Max, MaxLength, Min, ValidateBy, ValidationOptions } from 'class-validator';
import { FieldProblem, fieldProblem, isIanaTimeZone, isKnownTimeZone, NotFoundError } from '@app/shared';

/** ParseUUIDPipe, answering the id in lower case (see lowercaseUuids in validation.pipe.ts). */
class LowerCaseUuidPipe extends ParseUUIDPipe {
  override async transform(value: string, metadata: ArgumentMetadata): Promise<string> {
    return (await super.transform(value, metadata)).toLowerCase();
  }
}

/** A path id that is not a UUID cannot name a visible record: 404, like an unknown one. Upper case is the same id. */
export const uuidParam = (what: string) => new LowerCaseUuidPipe({ exceptionFactory: () => new NotFoundError(what) });

/**
 * A whole-number query parameter, strictly digits: "1e2", "0x10", " 1" or "2.0" are not what a client means by one
 * (Number() took them, so `limit=1e2` was 100 here and a 400 on the hub); anything else is NaN, which IsInt refuses.
 */
export const DigitsParam = () => Transform(({ value }) => (typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : Number.NaN));

/**
 * A name of the IANA time-zone database. class-validator's IsTimeZone asks Intl, which also takes Java's three-letter
 * ids (BST: Asia/Dhaka, IST: Asia/Kolkata): see @app/shared time-zone.
 */
export const IsIanaTimeZone = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isIanaTimeZone',
      validator: { validate: (v: unknown) => isIanaTimeZone(v), defaultMessage: (args) => `${args?.property} must be an IANA time zone such as Europe/London` },
    },
    options,
  );

/**
 * A zone Intl can compute with, IANA name or not: for a change (PATCH), whose domain refuses a zone that is not an IANA
 * name only when it differs from the stored one, so that a record sent back whole with a zone stored before that rule
 * is taken. A new zone must still be an IANA name (same message).
 */
export const IsKnownTimeZone = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isKnownTimeZone',
      validator: { validate: (v: unknown) => isKnownTimeZone(v), defaultMessage: (args) => `${args?.property} must be an IANA time zone such as Europe/London` },
    },
    options,
  );

/**
 * For a change whose body is refused anyway: a zone in it that Intl reads but IANA does not name, which the domain
 * refuses unless it is the stored one, named with the rest (a record sent back whole then names its legacy zone too).
 */
export const nonIanaZoneProblems = (value: unknown): FieldProblem[] =>
  typeof value === 'string' && isKnownTimeZone(value) && !isIanaTimeZone(value) ? [fieldProblem('timezone', 'must be an IANA time zone such as Europe/London')] : [];

export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @DigitsParam()
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  cursor?: string;
}

export const E164 = /^\+[1-9]\d{6,14}$/;

/** Optional tags: at most 50, each a string of at most 50 characters (contacts and calls alike). */
export const TagsField = () =>
  applyDecorators(
    ApiPropertyOptional({ type: [String], maxItems: 50 }),
    IsOptional(),
    IsArray(),
    ArrayMaxSize(50),
    IsString({ each: true }),
    MaxLength(50, { each: true }),
  );
