// The events every row appends: shaped like a payment audit record, so lines have a realistic
// size (about 360 bytes unsigned, 500 signed).
const KINDS = ['payment.captured', 'payment.refunded', 'login.succeeded', 'login.failed'];

export function eventInput(i) {
  return {
    kind: KINDS[i & 3],
    actor: `user:${100000 + (i % 5000)}`,
    payload: { amount: 1000 + (i % 9000), currency: 'EUR', orderId: `ord-${String(i).padStart(9, '0')}`, method: 'card', ip: '203.0.113.7' },
  };
}

export function batchOf(n, start) {
  return Array.from({ length: n }, (_, j) => eventInput(start + j));
}
