// The isolation suite again, with a BatchProfile per team and --require-profile (see isolation.test.ts).
process.env.DRMAA2_ISOLATION_PROFILES = '1';
await import('./isolation.test.js');
