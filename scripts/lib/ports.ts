import { createServer } from 'node:net'

/** A TCP port that was free on 127.0.0.1 a moment ago. Callers retry if a race takes it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() =>
        typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port')),
      )
    })
  })
}

export async function waitFor(
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; what: string; intervalMs?: number; abortIf?: () => string | undefined },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs
  for (;;) {
    if (await check().catch(() => false)) return
    const abort = opts.abortIf?.()
    if (abort !== undefined) throw new Error(`gave up waiting for ${opts.what}: ${abort}`)
    if (Date.now() > deadline)
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}`)
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100))
  }
}
