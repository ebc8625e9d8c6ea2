import { applyDecorators, ArgumentMetadata, ParseUUIDPipe } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Max, MaxLength, Min, ValidateBy, ValidationOptions } from 'class-validator';
import { isIanaTimeZone, NotFoundError } from '@app/shared';

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
