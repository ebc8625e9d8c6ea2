import { GroupQueue } from './group-queue';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(GroupQueue.name, () => {
  it('should process a lone item at once and group the items that arrive while a group runs', async () => {
    const groups: number[][] = [];
    const q = new GroupQueue<number, number>(async (group) => {
      groups.push(group.map((g) => g.item));
      await tick(20);
      group.forEach((g) => g.done(g.item * 10));
    }, 100, 1);
    const first = q.push(1);
    await tick(1);
    const rest = [q.push(2), q.push(3), q.push(4)];
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40]);
    expect(groups).toEqual([[1], [2, 3, 4]]);
  });

  it('should settle each item on its own and reject the unsettled ones when the group throws', async () => {
    const q = new GroupQueue<number, number>(
      async (group) => {
        group[0].done(group[0].item);
        await tick(5);
        throw new Error('group');
      },
      100,
      1,
    );
    const results = await Promise.allSettled([q.push(1), q.push(2), q.push(3)]);
    // The first push runs alone; 2 and 3 form the next group, where 2 is settled before the group throws.
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((results[2] as PromiseRejectedResult).reason.message).toBe('group');
  });
});
