import { Body, Controller, Get, Patch, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Actor, Clock, ForbiddenError, isSupervisorOrAdmin, NotFoundError } from '@app/shared';
import { HubActionCommand, HubActionResult, HubRepository } from '@app/hub';
import { UserRepository } from '@app/tenancy';
import { CurrentActor, Staff } from '../auth/auth.decorators';
import { ApiErrors, ApiKeyErrors } from '../http/error-response.dto';
import { checkOnePersonField, DueActionDto, DueQuery, HubActionResultDto, HubPageDto } from './hub.dto';

/** The follow-ups hub (SPEC §6): the contract of an existing front end. */
@ApiTags('hub')
@ApiBearerAuth()
@ApiKeyErrors()
@Staff()
@Controller('api/follow-ups/due')
export class HubController {
  constructor(
    private readonly hub: HubRepository,
    private readonly commands: CommandBus,
    private readonly users: UserRepository,
    private readonly clock: Clock,
  ) {}

  @Get()
  @ApiOkResponse({ type: HubPageDto })
  @ApiErrors({
    400: 'limit not a positive integer up to 200, or filter or agentId invalid',
    403: 'Integrations; agentId sent by an agent',
    404: 'agentId is no user of the organization',
  })
  async due(@CurrentActor() actor: Actor, @Query() query: DueQuery) {
    let agentId = actor.userId;
    if (query.agentId !== undefined) {
      if (!isSupervisorOrAdmin(actor)) throw new ForbiddenError('agentId is for supervisors and admins');
      if (!(await this.users.find(actor.orgId, query.agentId))) throw new NotFoundError('agent', query.agentId);
      agentId = query.agentId;
    }
    // "Today" is the caller's, in the caller's time zone, also when a supervisor looks at an agent's hub.
    return this.hub.due(actor.orgId, agentId, actor.timezone, this.clock.now(), query.filter ?? 'all', query.limit ?? 10);
  }

  @Patch()
  @ApiOkResponse({ type: HubActionResultDto })
  @ApiErrors({
    400: 'Not exactly one of personId or personIds, more than 200 ids, or action not done or snooze',
    403: 'Integrations',
    404: 'None of the ids is a contact assigned to the caller',
    409: "The contacts' follow-ups kept changing under concurrent writes: retry",
  })
  async act(@CurrentActor() actor: Actor, @Body() body: DueActionDto): Promise<HubActionResult> {
    checkOnePersonField(body);
    const ids = body.personIds ?? [body.personId!];
    return this.commands.execute<HubActionCommand, HubActionResult>(new HubActionCommand(actor, ids, body.action));
  }
}
