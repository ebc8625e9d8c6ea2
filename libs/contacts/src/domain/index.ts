export * from './contact.events';
export * from './lead-status';
export * from './contact.invariants';
export * from './contact.decider';
export * from './follow-up.decider';
export * from './campaign';
export * from './calling-window';
export * from './reassignment';
