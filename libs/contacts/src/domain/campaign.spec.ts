import { ValidationError } from '@app/shared';
import { assertCampaignWindow } from './campaign';

describe(assertCampaignWindow.name, () => {
  const window = (start: string, end: string) => ({ days: ['mon'], start, end });

  it('should accept an end of 24:00, the end of the day, after any start', () => {
    for (const start of ['00:00', '09:00', '23:59']) expect(() => assertCampaignWindow(window(start, '24:00'))).not.toThrow();
  });

  it.each([
    ['a start of 24:00', window('24:00', '24:00'), 'callingWindow.start'],
    ['an end of 24:01', window('09:00', '24:01'), 'callingWindow.end'],
    ['an end of 25:00', window('09:00', '25:00'), 'callingWindow.end'],
    ['an end before the start', window('18:00', '09:00'), 'callingWindow.end'],
    ['an end equal to the start', window('09:00', '09:00'), 'callingWindow.end'],
  ])('should refuse %s, naming the field as the API names it', (_, w, field) => {
    expect(() => assertCampaignWindow(w)).toThrow(ValidationError);
    expect(() => assertCampaignWindow(w)).toThrow(expect.objectContaining({ field }));
  });
});
