/**
 * The UI's one way to the service: the same JSON endpoints as curl (service/api.ts), with the
 * bearer token given at login (kept in this tab's sessionStorage, never in a cookie, so another
 * site cannot make the browser send it).
 */
const KEY = 'feedmatch.token'

export function token (): string | null {
  return sessionStorage.getItem(KEY)
}

export function setToken (t: string | null): void {
  if (t === null) sessionStorage.removeItem(KEY)
  else sessionStorage.setItem(KEY, t)
}

/** An answer that is not 2xx: the API's code and message (FM_ERR_...). */
export class ApiError extends Error {
  constructor (readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

export async function call<T = any> (method: string, path: string, body?: unknown, tok: string | null = token()): Promise<T> {
  const headers: Record<string, string> = {}
  if (tok !== null && tok !== '') headers.authorization = `Bearer ${tok}`
  if (body !== undefined) headers['content-type'] = typeof body === 'string' ? 'text/plain' : 'application/json'
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) })
  const text = await res.text()
  let json: any = null
  try { json = text === '' ? null : JSON.parse(text) } catch { /* below */ }
  if (!res.ok) {
    const e = json?.error
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (text.slice(0, 200) || res.statusText))
  }
  return json as T
}

export const get = async <T = any>(path: string): Promise<T> => await call<T>('GET', path)

/** Whole numbers with thin separators; rates with one decimal below 10. */
export function fmt (n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-'
  return n < 10 && !Number.isInteger(n) ? n.toFixed(1) : Math.round(n).toLocaleString('en-US')
}

export function ago (sec: number | null | undefined): string {
  if (sec === null || sec === undefined) return 'never'
  if (sec < 120) return `${Math.round(sec)} s`
  if (sec < 7200) return `${Math.round(sec / 60)} min`
  if (sec < 172800) return `${Math.round(sec / 3600)} h`
  return `${Math.round(sec / 86400)} d`
}
