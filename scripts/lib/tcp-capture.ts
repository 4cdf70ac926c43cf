import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A recording TCP relay on 127.0.0.1 in front of a server: every byte a client sends is kept, so a test can
 * prove a secret never went over the wire to the server. This is the strongest check there is for "the
 * plain password never reaches the server": the server's own records can redact or skip statements (Redis
 * keeps ACL SETUSER out of MONITOR and redacts it in SLOWLOG), the wire cannot. Only for plain-text
 * connections (with TLS the bytes are ciphertext).
 */
export interface TcpCapture {
  readonly port: number
  /** Everything clients sent so far, all connections in arrival order. */
  clientBytes(): Buffer
  /** Forget what was captured (between test cases). */
  clear(): void
  stop(): Promise<void>
}

export async function startTcpCapture(upstream: { host: string; port: number }): Promise<TcpCapture> {
  const chunks: Buffer[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const target = connect(upstream.port, upstream.host)
    sockets.add(client)
    sockets.add(target)
    client.on('data', (d: Buffer) => {
      chunks.push(Buffer.from(d))
      target.write(d)
    })
    target.on('data', (d: Buffer) => client.write(d))
    const close = (): void => {
      client.destroy()
      target.destroy()
      sockets.delete(client)
      sockets.delete(target)
    }
    client.on('close', close)
    target.on('close', close)
    client.on('error', close)
    target.on('error', close)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('tcp capture has no port')
  return {
    port: address.port,
    clientBytes: () => Buffer.concat(chunks),
    clear: () => {
      chunks.length = 0
    },
    stop: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
