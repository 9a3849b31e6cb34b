'use strict';
// Whatever a test starts is stopped at its end, pass or fail, so that a
// failing test can never leave a process or a connection behind: a scope
// collects cleanups and runs them in reverse order; itScoped() is it()
// with a scope handed to the test body.

const { it } = require('node:test');

function scope() {
  const cleanups = [];
  return {
    add(fn) { cleanups.push(fn); },
    async close() {
      for (const fn of cleanups.reverse()) {
        try { await fn(); } catch { /* already gone */ }
      }
    },
  };
}

function itScoped(name, fn, ms = 30000) {
  it(name, { timeout: ms }, async () => {
    const sc = scope();
    try {
      await fn(sc);
    } finally {
      await sc.close();
    }
  });
}

module.exports = { scope, itScoped };
