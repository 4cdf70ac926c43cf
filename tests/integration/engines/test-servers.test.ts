import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { startMariaDb } from '../../../scripts/lib/mariadb'
import { startRedis } from '../../../scripts/lib/redis'
import { runningAsRoot, systemUserIds } from '../../../scripts/lib/system-user'
import { createMysqlConnector } from '../../../src/rotation/engines/mysql/mysql-session'
import { createRedisConnector } from '../../../src/rotation/engines/redis/redis-session'

/**
 * The private servers themselves: each runs as its package's system user when we are root, keeps its
 * files in its own temp dir, starts with what the tests rely on (logs on, default Redis user off, no
 * password-less MariaDB root over TCP), and stop() ends exactly that process and removes the dir.
 */
jest.setTimeout(30_000)

const processAlive = (pid: number | undefined): boolean => {
  if (pid === undefined) return false
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
const ownerOf = (pid: number): number => statSync(`/proc/${pid}`).uid

describe('startMariaDb', () => {
  it('runs a private server with its three logs on, and stop() ends it and removes its files', async () => {
    // Arrange / Act
    const started = Date.now()
    const db = await startMariaDb()
    const startMs = Date.now() - started
    const pid = Number(readFileSync(`${db.dataDir}/../mysqld.pid`, 'utf8').trim())
    try {
      // Assert: logs, binary log and who runs it
      const [vars] = await db.query(
        'SELECT @@general_log AS g, @@slow_query_log AS s, @@long_query_time AS l, @@log_bin AS b, @@bind_address AS a',
      )
      expect(vars).toEqual({ g: 1, s: 1, l: 0, b: 1, a: '127.0.0.1' })
      if (runningAsRoot()) expect(ownerOf(pid)).toBe(systemUserIds('mysql', 'mariadb-server').uid)
      const root = createMysqlConnector({ tlsMode: 'disable', connectTimeoutMs: 2000, queryTimeoutMs: 2000 })
      await expect(
        root({ username: 'root', password: '', host: '127.0.0.1', port: db.port }),
      ).rejects.toMatchObject({
        kind: 'authentication-failed',
      })
      expect(startMs).toBeLessThan(30_000)
    } finally {
      await db.stop()
    }
    expect(processAlive(pid)).toBe(false)
    expect(existsSync(dirname(db.dataDir))).toBe(false)
  }, 60_000)
})

describe('startRedis', () => {
  it('runs a private server whose default user is off, and stop() ends it and removes its files', async () => {
    const redis = await startRedis()
    const info = String(await redis.command(['INFO', 'server']))
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1])
    try {
      if (runningAsRoot()) expect(ownerOf(pid)).toBe(systemUserIds('redis', 'redis-server').uid)
      expect(await redis.command(['CONFIG', 'GET', 'bind'])).toEqual(['bind', '127.0.0.1'])
      expect(await redis.command(['CONFIG', 'GET', 'slowlog-log-slower-than'])).toEqual([
        'slowlog-log-slower-than',
        '0',
      ])
      const connect = createRedisConnector({
        tlsMode: 'disable',
        connectTimeoutMs: 2000,
        commandTimeoutMs: 2000,
      })
      await expect(
        connect({ username: 'default', password: 'nopass', host: '127.0.0.1', port: redis.port }),
      ).rejects.toMatchObject({
        kind: 'authentication-failed',
      })
    } finally {
      await redis.stop()
    }
    expect(processAlive(pid)).toBe(false)
    expect(existsSync(dirname(redis.logFile))).toBe(false)
  }, 30_000)
})
