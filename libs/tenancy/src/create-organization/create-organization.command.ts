export class CreateOrganizationCommand {
  constructor(
    readonly name: string,
    readonly timezone = 'UTC',
    readonly adminName = 'Administrator',
  ) {}
}

export interface CreateOrganizationResult {
  orgId: string;
  adminUserId: string;
  adminKey: string;
}
