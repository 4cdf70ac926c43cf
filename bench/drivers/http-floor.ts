import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * Child process: the floor for a local HTTP secret endpoint, a bare Node HTTP server on 127.0.0.1 that
 * answers every request with one constant body (the agent's answer, given in argv) and the same headers
 * the agent sends. It reports its port over IPC and runs until killed. argv: <body>
 */
const body = process.argv[2] ?? ''
const server = createServer((_req, res) => {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  })
  res.end(body)
})
server.listen(0, '127.0.0.1', () => {
  process.send?.({ kind: 'listening', port: (server.address() as AddressInfo).port })
})
