/**
 * feedmatch's web UI (served by the API at /ui): login with a token, then the dashboard, lookup,
 * feeds, lists and detections, each page a view of the API's own endpoints. Preact for the
 * views, Chart.js for the charts, bundled by esbuild (scripts/build-ui.mjs) into dist/ui.
 */
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { ApiError, call, get, setToken, token } from './api.js'
import { Dashboard } from './dashboard.js'
import { Detections, Feeds, Lists, Lookup } from './pages.js'

const PAGES: Array<[string, string]> = [['dashboard', 'Dashboard'], ['lookup', 'Lookup'], ['feeds', 'Feeds'], ['lists', 'Lists'], ['detections', 'Detections']]

function page (): string {
  const p = location.hash.replace(/^#\/?/, '')
  return PAGES.some(([k]) => k === p) ? p : 'dashboard'
}

function Login ({ onIn }: { onIn: () => void }) {
  const [value, setValue] = useState('')
  const [error, setError] = useState<string | null>(null)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    try {
      await call('GET', '/stats', undefined, value.trim())
      setToken(value.trim())
      onIn()
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That token is not known to this service.' : err instanceof ApiError && err.status === 403 ? 'That token lacks the read scope the UI needs.' : (err as Error).message)
    }
  }
  return (
    <div class='card login'>
      <h2>feedmatch</h2>
      <form onSubmit={(e) => { void submit(e) }}>
        <label for='token'>API token</label>
        <input id='token' type='password' autocomplete='off' value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} placeholder='fm_...' />
        {error !== null && <div class='error' role='alert'>{error}</div>}
        <button type='submit' disabled={value.trim() === ''}>Log in</button>
      </form>
      <p class='muted'>A token with the <code>read</code> scope shows the dashboard; <code>lookup</code> and <code>write</code> unlock the rest. Make one with <code>feedmatch token new</code>.</p>
    </div>
  )
}

function App () {
  // null: not known yet; false: a token is needed; true: in (with a token, or the API is open).
  const [authed, setAuthed] = useState<boolean | null>(null)
  const [open, setOpen] = useState(false)
  const [current, setCurrent] = useState(page())
  useEffect(() => {
    const onHash = (): void => setCurrent(page())
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])
  useEffect(() => {
    // An open API (loopback, no tokens configured) answers without one.
    get('/stats').then(() => { setOpen(token() === null); setAuthed(true) }, () => { setToken(null); setAuthed(false) })
  }, [])
  if (authed === null) return <main class='muted'>Connecting...</main>
  if (!authed) return <Login onIn={() => setAuthed(true)} />
  const View = { dashboard: Dashboard, lookup: Lookup, feeds: Feeds, lists: Lists, detections: Detections }[current] ?? Dashboard
  return (
    <>
      <header>
        <b>feedmatch</b>
        <nav>{PAGES.map(([k, label]) => <a key={k} href={`#/${k}`} class={k === current ? 'on' : ''}>{label}</a>)}</nav>
        <span class='who'>{open ? 'open API (no token)' : 'token set'}</span>
        {!open && <button type='button' onClick={() => { setToken(null); setAuthed(false) }}>Log out</button>}
      </header>
      <main><View /></main>
    </>
  )
}

render(<App />, document.getElementById('app') as HTMLElement)
