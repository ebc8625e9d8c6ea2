import { groupBy } from './group-by';

describe(groupBy.name, () => {
  it('should keep each group in the order of the items, and the groups in the order their keys first came', () => {
    const calls = [
      { id: 1, contact: 'b' },
      { id: 2, contact: 'a' },
      { id: 3, contact: 'b' },
      { id: 4, contact: 'c' },
      { id: 5, contact: 'a' },
    ];
    const groups = groupBy(calls, (c) => c.contact);
    expect([...groups.entries()].map(([k, g]) => [k, g.map((c) => c.id)])).toEqual([
      ['b', [1, 3]],
      ['a', [2, 5]],
      ['c', [4]],
    ]);
  });

  it('should give no group for no items', () => {
    expect(groupBy([], (x: number) => x).size).toBe(0);
  });
});
