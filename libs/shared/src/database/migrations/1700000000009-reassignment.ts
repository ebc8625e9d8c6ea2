import { MigrationInterface, QueryRunner } from 'typeorm';

export class Reassignment1700000000009 implements MigrationInterface {
  name = 'Reassignment1700000000009';

  async up(q: QueryRunner): Promise<void> {}

  async down(q: QueryRunner): Promise<void> {}
}
