import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Actor, NotFoundError, problemsOf } from '@app/shared';
import { nonIanaZoneProblems, uuidParam } from '../http/common.dto';
import {
  CreateUserCommand,
  CreateUserResult,
  hashApiKey,
  IssueApiKeyCommand,
  IssueApiKeyResult,
  refuseSelfDeactivation,
  RevokeApiKeyCommand,
  UpdateUserCommand,
  UserRepository,
} from '@app/tenancy';
import { AuthFailureLimit } from '../auth/auth-failure-limit';
import { CurrentActor, Roles } from '../auth/auth.decorators';
import { ApiErrors, ApiKeyErrors } from '../http/error-response.dto';
import { BodyWith } from '../http/validation.pipe';
import { CreateUserDto, IssueApiKeyDto, ListAgentsQuery, UpdateUserDto } from './users.dto';
import { AgentListDto, ApiKeyListDto, CreatedUserDto, IssuedApiKeyDto, UserDto } from './users.response.dto';

/** Who asks is in the request, not the body: a refused body of an admin's own names `active` too (SPEC §9). */
const selfDeactivation = (body: Record<string, unknown>, { actor, params }: { actor: Actor; params: Record<string, string> }) => [
  ...problemsOf(() => refuseSelfDeactivation(actor.userId, String(params.id).toLowerCase(), body)),
  ...nonIanaZoneProblems(body.timezone),
];

@ApiTags('users')
@ApiBearerAuth()
@ApiKeyErrors()
@Controller('api')
export class UsersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly users: UserRepository,
    // a key issued here is known valid from the start: see AuthFailureLimit.issued
    private readonly failures: AuthFailureLimit,
  ) {}

  /** Creates a user and returns their API key: shown this once, stored only as a hash. */
  @Post('users')
  @Roles('admin')
  @ApiCreatedResponse({ type: CreatedUserDto })
  @ApiErrors({ 400: 'A field missing or invalid (each named)', 403: 'Not an admin' })
  async create(@CurrentActor() actor: Actor, @Body() body: CreateUserDto) {
    const result = await this.commands.execute<CreateUserCommand, CreateUserResult>(new CreateUserCommand(actor, body));
    await this.failures.issued(hashApiKey(result.apiKey));
    const user = await this.users.find(actor.orgId, result.id);
    return { ...user, apiKey: result.apiKey, apiKeyId: result.apiKeyId };
  }

  /**
   * The key's own user, whatever the role: an agent's client learns the timezone their hub's "today" is taken in, and
   * an integration checks which user and organization its key acts as.
   */
  @Get('users/me')
  @ApiOkResponse({ type: UserDto })
  @ApiErrors({ 404: "The key's user is no longer in the organization" })
  async me(@CurrentActor() actor: Actor) {
    const user = await this.users.find(actor.orgId, actor.userId);
    if (!user) throw new NotFoundError('user', actor.userId);
    return user;
  }

  @Get('users/:id')
  @Roles('admin', 'supervisor')
  @ApiOkResponse({ type: UserDto })
  @ApiErrors({ 403: 'Agents and integrations', 404: 'No such user in the organization' })
  async get(@CurrentActor() actor: Actor, @Param('id', uuidParam('user')) id: string) {
    const user = await this.users.find(actor.orgId, id);
    if (!user) throw new NotFoundError('user', id);
    return user;
  }

  /** Name, branch, department, timezone, active. Deactivating a user stops their keys at once. */
  @Patch('users/:id')
  @Roles('admin')
  @ApiOkResponse({ type: UserDto })
  @ApiErrors({ 400: 'A field invalid (each named), or an admin deactivating themselves', 403: 'Not an admin', 404: 'No such user in the organization' })
  @ApiBody({ type: UpdateUserDto })
  async update(@CurrentActor() actor: Actor, @Param('id', uuidParam('user')) id: string, @BodyWith(UpdateUserDto, selfDeactivation) body: UpdateUserDto) {
    const changes = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
    await this.commands.execute(new UpdateUserCommand(actor, id, changes));
    return this.users.find(actor.orgId, id);
  }

  /**
   * Another key for an existing, active user (rotation: issue, deploy, revoke the old one); their other keys keep
   * working. The key is shown this once, stored only as a hash. A deactivated user gets 409.
   */
  @Post('users/:id/api-keys')
  @Roles('admin')
  @ApiCreatedResponse({ type: IssuedApiKeyDto })
  @ApiErrors({
    400: 'name invalid',
    403: 'Not an admin',
    404: 'No such user in the organization',
    409: 'The user is deactivated, or holds the most unrevoked keys a user may',
  })
  async issueApiKey(@CurrentActor() actor: Actor, @Param('id', uuidParam('user')) id: string, @Body() body: IssueApiKeyDto) {
    const result = await this.commands.execute<IssueApiKeyCommand, IssueApiKeyResult>(new IssueApiKeyCommand(actor, id, body?.name ?? null));
    await this.failures.issued(hashApiKey(result.apiKey));
    const key = await this.users.findApiKey(actor.orgId, result.id);
    return { ...key, apiKey: result.apiKey };
  }

  /** The user's keys, revoked ones included, oldest first: never the key or its hash. */
  @Get('users/:id/api-keys')
  @Roles('admin')
  @ApiOkResponse({ type: ApiKeyListDto })
  @ApiErrors({ 403: 'Not an admin', 404: 'No such user in the organization' })
  async listApiKeys(@CurrentActor() actor: Actor, @Param('id', uuidParam('user')) id: string) {
    const apiKeys = await this.users.listApiKeys(actor.orgId, id);
    if (!apiKeys) throw new NotFoundError('user', id);
    return { apiKeys };
  }

  @Get('agents')
  @ApiOkResponse({ type: AgentListDto })
  @ApiErrors({ 400: 'active is not true or false' })
  async agents(@CurrentActor() actor: Actor, @Query() query: ListAgentsQuery) {
    const agents = await this.users.listAgents(actor.orgId, { active: query.active === undefined ? undefined : query.active === 'true' });
    return { agents };
  }

  @Delete('api-keys/:id')
  @Roles('admin')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked (or already revoked): the key stops working at once' })
  @ApiErrors({ 403: 'Not an admin', 404: 'No such key in the organization' })
  async revoke(@CurrentActor() actor: Actor, @Param('id', uuidParam('api key')) id: string): Promise<void> {
    await this.commands.execute(new RevokeApiKeyCommand(actor, id));
  }
}
