// The project runs on Node.js >= 22.19. npm scripts put node_modules/.bin first on PATH, where the
// node-linux-* optional dependency provides a current Node when the machine's own is older.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(
    `drmaa2-batch-controller needs Node.js >= 22.19, but this is ${process.version} (${process.execPath}).\n` +
      'Run `npm ci` so the bundled Node.js binary is installed, and run commands through npm (npm test, npm run ...).',
  );
  process.exit(1);
}
