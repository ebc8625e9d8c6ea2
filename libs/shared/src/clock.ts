import { Injectable } from '@nestjs/common';

/** The only source of "now" for handlers; tests replace it to move time. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
