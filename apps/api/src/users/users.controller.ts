import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Actor, NotFoundError } from '@app/shared';
import { CreateUserCommand, CreateUserResult, RevokeApiKeyCommand, UpdateUserCommand, UserRepository } from '@app/tenancy';
import { CurrentActor, Roles } from '../auth/auth.decorators';
import { CreateUserDto, ListAgentsQuery, UpdateUserDto } from './users.dto';

const uuid = (field: string) => new ParseUUIDPipe({ exceptionFactory: () => new NotFoundError(field) });

@ApiTags('users')
@ApiBearerAuth()
@Controller('api')
export class UsersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly users: UserRepository,
  ) {}

  /** Creates a user and returns their API key: shown this once, stored only as a hash. */
  @Post('users')
  @Roles('admin')
  async create(@CurrentActor() actor: Actor, @Body() body: CreateUserDto) {
    const result = await this.commands.execute<CreateUserCommand, CreateUserResult>(new CreateUserCommand(actor, body));
    const user = await this.users.find(actor.orgId, result.id);
    return { ...user, apiKey: result.apiKey, apiKeyId: result.apiKeyId };
  }

  @Get('users/:id')
  @Roles('admin', 'supervisor')
  async get(@CurrentActor() actor: Actor, @Param('id', uuid('user')) id: string) {
    const user = await this.users.find(actor.orgId, id);
    if (!user) throw new NotFoundError('user', id);
    return user;
  }

  /** Name, branch, department, timezone, active. Deactivating a user stops their keys at once. */
  @Patch('users/:id')
  @Roles('admin')
  async update(@CurrentActor() actor: Actor, @Param('id', uuid('user')) id: string, @Body() body: UpdateUserDto) {
    const changes = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
    await this.commands.execute(new UpdateUserCommand(actor, id, changes));
    return this.users.find(actor.orgId, id);
  }

  @Get('agents')
  async agents(@CurrentActor() actor: Actor, @Query() query: ListAgentsQuery) {
    const agents = await this.users.listAgents(actor.orgId, { active: query.active === undefined ? undefined : query.active === 'true' });
    return { agents };
  }

  @Delete('api-keys/:id')
  @Roles('admin')
  @HttpCode(204)
  async revoke(@CurrentActor() actor: Actor, @Param('id', uuid('api key')) id: string): Promise<void> {
    await this.commands.execute(new RevokeApiKeyCommand(actor, id));
  }
}
