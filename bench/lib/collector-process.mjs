// The parent side of collector-child.mjs.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `dist` and `plan`: see collector-child.mjs; `execArgv` for the child (a CPU profile). */
export async function startCollectorProcess(db, { dist, plan, execArgv } = {}) {
  const args = dist ? [db, dist, plan ?? 'default'] : [db];
  const child = fork(fileURLToPath(new URL('./collector-child.mjs', import.meta.url)), args, { ...(execArgv ? { execArgv } : {}), stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  // One reply awaited at a time; an exit while waiting rejects it.
  let waiter;
  child.on('message', (m) => waiter?.resolve(m));
  child.on('exit', (code) => waiter?.reject(new Error(`collector process exited (${code})`)));
  const next = () => new Promise((resolve, reject) => (waiter = { resolve, reject }));
  const { url } = await next();
  return {
    url,
    pid: child.pid,
    /** Registers a source; resolves to its token. */
    async addSource(src) {
      const reply = next();
      child.send({ add: src });
      return (await reply).token;
    },
    /** The child's memoryUsage() after a full GC (fork it with execArgv ['--expose-gc']). */
    async memory() {
      const reply = next();
      child.send({ memory: true });
      return (await reply).memory;
    },
    stop() {
      if (child.exitCode !== null || !child.connected) return Promise.resolve();
      return new Promise((resolve) => {
        child.once('exit', resolve);
        child.disconnect();
      });
    },
  };
}
