import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';

/** Every error body, as ErrorFilter sends it (SPEC §9). */
export class ErrorResponseDto {
  @ApiProperty({ type: 'integer', example: 400, description: 'The HTTP status, repeated' })
  statusCode: number;

  @ApiProperty({ example: 'Bad Request', description: "The status's reason phrase" })
  error: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: ['phone must be an E.164 number such as +14155550123', 'name should not be empty'],
    description: 'What was wrong: a 400 for the request body or query lists one message per field, each starting with the path of its field; other errors say it in one string',
  })
  message: string | string[];
}

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 422 | 429;

/** The error answers an operation can give, each with what causes it there; on a controller, every operation's. */
export const ApiErrors = (errors: Partial<Record<ErrorStatus, string>>) =>
  applyDecorators(...Object.entries(errors).map(([status, description]) => ApiResponse({ status: Number(status), description, type: ErrorResponseDto })));

/** What any operation that needs an API key can answer: on each controller under /api. */
export const ApiKeyErrors = () =>
  ApiErrors({
    401: 'No API key, or one that is unknown, revoked or of a deactivated user',
    429: "Past the key's rate limit, or too many failed authentications from this address: retry after the Retry-After header's seconds",
  });
