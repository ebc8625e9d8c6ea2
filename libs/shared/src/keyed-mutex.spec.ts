import { KeyedMutex } from './keyed-mutex';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(KeyedMutex.name, () => {
  it('should run tasks of one key one at a time, in order', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
    };
    await Promise.all([mutex.run('a', task('1', 20)), mutex.run('a', task('2', 1)), mutex.run('a', task('3', 1))]);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('should run tasks of different keys concurrently and keep going after a failure', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const failing = mutex.run('a', async () => {
      await tick(10);
      throw new Error('boom');
    });
    const other = mutex.run('b', async () => void log.push('b'));
    const after = mutex.run('a', async () => void log.push('a after failure'));
    await expect(failing).rejects.toThrow('boom');
    await Promise.all([other, after]);
    expect(log).toEqual(['b', 'a after failure']);
    await tick(0);
    expect(mutex.size).toBe(0);
  });
});
