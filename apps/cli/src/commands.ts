import { Inject } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { Command, CommandRunner, Option } from 'nest-commander';
import { isIanaTimeZone } from '@app/shared';
import { ProjectionRebuilder, ProjectionRegistry } from '@app/event-store';
import { JobReconciler } from '@app/queue';
import { CreateOrganizationCommand, CreateOrganizationResult, hashApiKey } from '@app/tenancy';
import { AuthFailureLimit } from '../../api/src/auth/auth-failure-limit';

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

/** The names of the migrations main.ts applied before the module booted. */
export const BOOT_MIGRATIONS = Symbol('BOOT_MIGRATIONS');

@Command({ name: 'org:create', description: 'Create an organization and print its first admin key (and the key\'s id, to revoke it) as JSON' })
export class OrgCreateCommand extends CommandRunner {
  constructor(
    private readonly commands: CommandBus,
    private readonly failures: AuthFailureLimit,
  ) {
    super();
  }

  async run(_: string[], options: { name?: string; timezone?: string }): Promise<void> {
    if (!options.name?.trim()) throw new Error('--name is required');
    const timezone = options.timezone ?? 'UTC';
    if (!isIanaTimeZone(timezone)) throw new Error(`--timezone ${timezone} is not an IANA time zone`);
    const r = await this.commands.execute<CreateOrganizationCommand, CreateOrganizationResult>(new CreateOrganizationCommand(options.name.trim(), timezone));
    // known valid from the start, as a key the API issues (AuthFailureLimit.issued); lost if Redis does not answer
    await this.failures.issued(hashApiKey(r.adminKey));
    print({ orgId: r.orgId, adminUserId: r.adminUserId, adminKey: r.adminKey, adminKeyId: r.adminKeyId });
  }

  @Option({ flags: '-n, --name <name>', description: 'organization name', required: true })
  parseName(v: string) {
    return v;
  }

  @Option({ flags: '-t, --timezone <zone>', description: 'IANA time zone (default UTC)' })
  parseTimezone(v: string) {
    return v;
  }
}

@Command({ name: 'migrate', description: 'Create the database if needed and apply pending migrations' })
export class MigrateCommand extends CommandRunner {
  // main.ts applies the pending migrations before any command runs, this one included: what it applied is the answer.
  constructor(@Inject(BOOT_MIGRATIONS) private readonly applied: string[]) {
    super();
  }

  async run(): Promise<void> {
    print({ applied: this.applied });
  }
}

@Command({ name: 'projection:rebuild', arguments: '<name>', description: 'Rebuild a projection from the event store' })
export class RebuildCommand extends CommandRunner {
  constructor(private readonly rebuilder: ProjectionRebuilder) {
    super();
  }

  async run([name]: string[]): Promise<void> {
    print({ projection: name, ...(await this.rebuilder.rebuild(name)) });
  }
}

@Command({ name: 'projection:list', description: 'List the projections' })
export class ListProjectionsCommand extends CommandRunner {
  constructor(private readonly registry: ProjectionRegistry) {
    super();
  }

  async run(): Promise<void> {
    print(this.registry.projectionNames().map((n) => ({ name: n, mode: this.registry.projection(n)!.mode })));
  }
}

@Command({ name: 'jobs:reconcile', description: 'Re-create every pending job from Postgres (after Redis lost its data)' })
export class ReconcileCommand extends CommandRunner {
  constructor(private readonly reconciler: JobReconciler) {
    super();
  }

  async run(): Promise<void> {
    print(await this.reconciler.reconcile());
  }
}

export const CLI_COMMANDS = [OrgCreateCommand, MigrateCommand, RebuildCommand, ListProjectionsCommand, ReconcileCommand];
