import { StreamLockBudget } from './stream-lock-budget';

const tick = () => new Promise((r) => setImmediate(r));

describe('StreamLockBudget', () => {
  it('should let appends that fit run at once, and hold the next until streams are released', async () => {
    const budget = new StreamLockBudget(1000);
    const first = await budget.take(600);
    const second = await budget.take(400);
    expect(budget.inUse).toBe(1000);
    let third = false;
    const waiting = budget.take(500).then((release) => ((third = true), release));
    await tick();
    expect(third).toBe(false);
    first();
    const release = await waiting;
    expect([third, budget.inUse]).toEqual([true, 900]);
    second();
    release();
    expect(budget.inUse).toBe(0);
  });

  it('should not let a later, smaller append pass a waiting larger one', async () => {
    const budget = new StreamLockBudget(1000);
    const first = await budget.take(900);
    const order: string[] = [];
    const large = budget.take(800).then((r) => (order.push('large'), r));
    const small = budget.take(50).then((r) => (order.push('small'), r));
    await tick();
    expect(order).toEqual([]); // 50 would fit beside the 900, but the 800 came first
    first();
    (await large)();
    (await small)();
    expect(order).toEqual(['large', 'small']);
  });

  it('should run an append larger than the whole budget alone, and count a release once', async () => {
    const budget = new StreamLockBudget(100);
    const huge = await budget.take(5000);
    expect(budget.inUse).toBe(100);
    huge();
    huge();
    expect(budget.inUse).toBe(0);
  });
});
