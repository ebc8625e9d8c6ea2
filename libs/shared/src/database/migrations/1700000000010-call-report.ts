import { MigrationInterface, QueryRunner } from 'typeorm';

export class CallReport1700000000010 implements MigrationInterface {
  name = 'CallReport1700000000010';

  async up(q: QueryRunner): Promise<void> {}

  async down(q: QueryRunner): Promise<void> {}
}
