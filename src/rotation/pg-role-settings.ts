import { quoteCatalogIdent, quoteLiteral } from './db-session'

/**
 * Per-role settings (`ALTER ROLE … [IN DATABASE …] SET name TO value`, kept in pg_db_role_setting as
 * `name=value` text) copied from one role to another. A stored entry cannot simply be replayed: for the
 * list settings marked GUC_LIST_QUOTE the server stored each element already quoted, so the value has to
 * be split back into its elements and each one given as a literal. This is pg_dump's
 * makeAlterConfigCommand (src/bin/pg_dump/dumputils.c) and SplitGUCList (src/fe_utils/string_utils.c),
 * ported: pg_dumpall relies on the same round trip to restore role settings.
 */

/** pg_dump's variable_is_guc_list_quote(): the settings whose stored list elements are quoted identifiers. */
const GUC_LIST_QUOTE = new Set([
  'local_preload_libraries',
  'search_path',
  'session_preload_libraries',
  'shared_preload_libraries',
  'temp_tablespaces',
  'unix_socket_directories',
])

const isSpace = (c: string | undefined): boolean => c !== undefined && /[ \t\n\r\f\v]/.test(c)

/**
 * SplitGUCList: a flattened list value into its elements. Double-quoted elements keep their case and have
 * `""` collapsed to `"`; unquoted ones run to the next comma or space. Undefined on a malformed list.
 */
export function splitGucList(raw: string): string[] | undefined {
  const out: string[] = []
  let i = 0
  while (isSpace(raw[i])) i++
  if (i === raw.length) return out
  for (;;) {
    let name = ''
    if (raw[i] === '"') {
      i++
      for (;;) {
        const end = raw.indexOf('"', i)
        if (end < 0) return undefined // mismatched quotes
        name += raw.slice(i, end)
        if (raw[end + 1] !== '"') {
          i = end + 1
          break
        }
        name += '"'
        i = end + 2
      }
    } else {
      const start = i
      while (i < raw.length && raw[i] !== ',' && !isSpace(raw[i])) i++
      if (i === start) return undefined // empty unquoted element
      name = raw.slice(start, i)
    }
    out.push(name)
    while (isSpace(raw[i])) i++
    if (raw[i] === ',') {
      i++
      while (isSpace(raw[i])) i++
    } else if (i === raw.length) {
      return out
    } else {
      return undefined
    }
  }
}

/** One stored `name=value` entry, split at the first `=`. */
export function parseSettingEntry(entry: string): { name: string; value: string } | undefined {
  const eq = entry.indexOf('=')
  if (eq <= 0) return undefined
  return { name: entry.slice(0, eq), value: entry.slice(eq + 1) }
}

/**
 * `ALTER ROLE <role> [IN DATABASE <db>] SET <name> TO <value>` reproducing a stored entry exactly.
 * @param quotedRole the target role, already quoted
 * @param database null for a setting in every database
 * @throws Error (naming the setting, not its value) on an entry the server could not have stored
 */
export function setSettingStatement(quotedRole: string, database: string | null, entry: string): string {
  const parsed = parseSettingEntry(entry)
  if (parsed === undefined) throw new Error('a stored role setting has no name')
  const { name, value } = parsed
  let literal: string
  if (GUC_LIST_QUOTE.has(name.toLowerCase())) {
    const elements = splitGucList(value)
    if (elements === undefined) throw new Error(`the stored list value of setting ${name} is malformed`)
    // An empty list is stored as the empty string; SET name TO '' restores exactly that.
    literal = elements.length === 0 ? "''" : elements.map(quoteLiteral).join(', ')
  } else {
    literal = quoteLiteral(value)
  }
  const where = database === null ? '' : ` IN DATABASE ${quoteCatalogIdent(database)}`
  return `ALTER ROLE ${quotedRole}${where} SET ${quoteCatalogIdent(name)} TO ${literal}`
}

export function resetAllStatement(quotedRole: string, database: string | null): string {
  const where = database === null ? '' : ` IN DATABASE ${quoteCatalogIdent(database)}`
  return `ALTER ROLE ${quotedRole}${where} RESET ALL`
}
