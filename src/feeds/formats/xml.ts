import { createReadStream } from 'node:fs'
import { SaxesParser, type SaxesTagPlain } from 'saxes'
import { FeedmatchError } from '../../errors.js'
import { feedError } from '../detect.js'
import { guessIndicatorFields, mappedIndicators, noIndicator } from '../fields.js'
import { isSkipped, type FeedParser, type IndicatorField, type ParsedItem } from '../record.js'

// A record element bigger than this is dropped (and reported) rather than held: a wrong `records:`
// that matches the root element must not pull a 2 GB feed into one object.
const MAX_RECORD_CHARS = 16 * 1024 * 1024

/** An element of the record being built. */
interface XmlNode {
  name: string
  obj: Record<string, unknown>
  text: string
  hasFields: boolean
}

/** The record element being read: where it starts, and why it will be skipped, if it will. */
interface OpenRecord {
  line: number
  depth: number
  chars: number
  broken?: string
}

function newNode (tag: SaxesTagPlain): XmlNode {
  const obj: Record<string, unknown> = {}
  let hasFields = false
  for (const [k, v] of Object.entries(tag.attributes)) { obj[`@${k}`] = v; hasFields = true }
  return { name: tag.name, obj, text: '', hasFields }
}

// The value an element contributes to its parent: its text when it has only text, else an object
// with `@attributes`, child fields and `#text` for any text beside them.
function nodeValue (node: XmlNode, asObject: boolean): unknown {
  const text = node.text.trim()
  if (!node.hasFields && !asObject) return text
  if (text !== '') node.obj['#text'] = text
  return node.obj
}

function addField (obj: Record<string, unknown>, name: string, value: unknown): void {
  const prev = Object.hasOwn(obj, name) ? obj[name] : undefined
  const next = prev === undefined ? value : Array.isArray(prev) ? (prev.push(value), prev) : [prev, value]
  // defineProperty, because an element named `__proto__` must stay a field, not become a prototype.
  Object.defineProperty(obj, name, { value: next, writable: true, enumerable: true, configurable: true })
}

function sameName (name: string, seg: string): boolean {
  return name === seg || (name.endsWith(seg) && name.charCodeAt(name.length - seg.length - 1) === 0x3a /* : */)
}

/**
 * Turns saxes events into record objects. saxes reports errors and goes on, but a close tag that
 * matches no open element makes it close every open element (the root too), so this keeps its own
 * stack and undoes that unwinding: the broken record is skipped and the records after it still
 * count. The saxes messages it reads are listed in `onError`.
 */
class RecordReader {
  readonly out: ParsedItem[] = []
  private readonly stack: string[] = []
  private nodes: XmlNode[] = []
  private rec: OpenRecord | undefined
  private tagLine = 1
  // Elements saxes closed since the last settled event, to restore if that was an unwinding.
  private undo: string[] = []
  private undoInRecord = false
  private lastPoppedInRecord = false
  private afterUnexpected = false
  // Where in `out` a record closed by the current unwinding went, to retract it if it is undone.
  private finishedInUnwinding: number | undefined
  private pendingFatal: string | undefined
  // An error inside a start tag (a duplicate attribute) comes before the tag is known as a record.
  private inTag = false
  private tagError: string | undefined
  private closing = false

  constructor (private readonly parser: SaxesParser, private readonly path: string,
    private readonly recordPath: string[], private readonly toItem: (ctx: Record<string, unknown>, line: number) => ParsedItem) {
    parser.on('opentagstart', () => { this.tagLine = parser.line; this.inTag = true })
    parser.on('opentag', (tag) => this.onOpen(tag))
    parser.on('closetag', (tag) => this.onClose(tag.name))
    parser.on('text', (t) => this.onText(t))
    parser.on('cdata', (t) => this.onText(t))
    parser.on('error', (err) => this.onError(err.message.replace(/^(.*?:)?\d+:\d+: /, '')))
  }

  /** Ends the document: from here on every error is the document's. */
  close (): void {
    this.closing = true
    this.parser.close()
    this.settle()
    if (this.tagError !== undefined) this.fatal(this.tagError)
    if (this.stack.length > 0) this.fatal(`element <${this.stack[this.stack.length - 1]}> is not closed (file cut short?)`)
  }

  private fatal (reason: string, line = this.parser.line): never {
    throw new FeedmatchError('FM_ERR_FEED_READ', `feed ${this.path}, line ${line}: malformed XML: ${reason}`)
  }

  // The unwinding is over (a normal event follows it): its closes were real.
  private settle (): void {
    if (this.undo.length === 0) return
    if (this.pendingFatal !== undefined) this.fatal(this.pendingFatal)
    this.undo = []
    this.undoInRecord = false
    this.afterUnexpected = false
    this.finishedInUnwinding = undefined
  }

  private isRecord (): boolean {
    const n = this.recordPath.length
    // Without `records:`, the children of the root element are the records.
    if (n === 0) return this.stack.length === 2
    if (this.stack.length < n) return false
    for (let i = 0; i < n; i++) {
      if (!sameName(this.stack[this.stack.length - n + i], this.recordPath[i])) return false
    }
    return true
  }

  private onOpen (tag: SaxesTagPlain): void {
    this.settle()
    this.inTag = false
    this.stack.push(tag.name)
    if (this.rec !== undefined) {
      if (this.rec.broken === undefined || this.nodes.length > 0) this.nodes.push(newNode(tag))
    } else if (this.isRecord()) {
      this.rec = { line: this.tagLine, depth: this.stack.length, chars: 0 }
      this.nodes = [newNode(tag)]
    }
    if (this.tagError !== undefined) {
      if (this.rec === undefined) this.fatal(this.tagError)
      this.breakRecord(this.tagError)
      this.tagError = undefined
    }
  }

  private onText (text: string): void {
    this.settle()
    const rec = this.rec
    if (rec === undefined || this.nodes.length === 0) return
    rec.chars += text.length
    if (rec.chars > MAX_RECORD_CHARS) {
      rec.broken ??= 'record larger than 16 MiB'
      this.nodes = []
      return
    }
    this.nodes[this.nodes.length - 1].text += text
  }

  private onClose (name: string): void {
    // A close right after "unexpected close tag" continues an unwinding; any other settles the last one.
    if (!this.afterUnexpected) this.settle()
    this.afterUnexpected = false
    this.popElement(name)
    this.undo.push(name)
  }

  private popElement (name: string): void {
    this.stack.pop()
    const rec = this.rec
    this.lastPoppedInRecord = rec !== undefined && this.stack.length >= rec.depth - 1
    if (rec === undefined) return
    if (this.stack.length < rec.depth - 1) return
    const node = this.nodes.pop()
    if (this.stack.length === rec.depth - 1) {
      // The record element itself closed.
      this.rec = undefined
      this.nodes = []
      this.finishedInUnwinding = this.out.length
      this.out.push(rec.broken !== undefined || node === undefined
        ? { skipped: true, reason: `malformed XML: ${rec.broken ?? 'record dropped'}`, line: rec.line }
        : this.toItem(nodeValue(node, true) as Record<string, unknown>, rec.line))
    } else if (node !== undefined && this.nodes.length > 0) {
      const parent = this.nodes[this.nodes.length - 1]
      addField(parent.obj, name, nodeValue(node, false))
      parent.hasFields = true
    }
  }

  private onError (reason: string): void {
    if (this.closing) this.fatal(reason)
    if (reason.startsWith('documents may contain only one root') || reason.startsWith('text data outside of root node')) {
      // After an unwinding saxes believes it is outside the root; this reader knows better.
      if (this.stack.length === 0) this.fatal(reason)
    } else if (this.inTag) {
      this.tagError ??= reason
    } else if (reason.startsWith('unexpected close tag')) {
      // saxes closed an element that the close tag did not name: real if the close tag names an
      // ancestor, an unwinding if it names nothing open (then "unmatched closing tag" follows).
      if (this.undo.length === 1) this.undoInRecord = this.lastPoppedInRecord
      if (this.lastPoppedInRecord) this.breakRecord(reason)
      else this.pendingFatal ??= reason
      this.afterUnexpected = true
    } else if (reason.startsWith('unmatched closing tag: ')) {
      const name = reason.slice('unmatched closing tag: '.length).replace(/\.$/, '')
      const inRecord = this.undoInRecord
      // Undo the unwinding: those elements are still open, and a record it closed was not complete.
      for (let i = this.undo.length - 1; i >= 0; i--) this.stack.push(this.undo[i])
      const finished = this.finishedInUnwinding === undefined ? undefined : this.out[this.finishedInUnwinding]
      if (finished !== undefined && !isSkipped(finished)) {
        this.out[this.finishedInUnwinding as number] = { skipped: true, reason: `malformed XML: ${reason} (line ${this.parser.line})`, line: finished.line }
      }
      this.undo = []
      this.undoInRecord = false
      this.afterUnexpected = false
      this.finishedInUnwinding = undefined
      this.pendingFatal = undefined
      const at = this.stack.lastIndexOf(name)
      if (at >= 0) {
        // Closes an element saxes had forgotten in its unwinding.
        while (this.stack.length > at) this.popElement(this.stack[this.stack.length - 1])
      } else if (this.rec !== undefined) {
        this.breakRecord(reason)
      } else if (!inRecord) {
        this.fatal(reason)
      }
    } else if (this.rec !== undefined) {
      this.breakRecord(reason)
    } else {
      this.fatal(reason)
    }
  }

  private breakRecord (reason: string): void {
    if (this.rec !== undefined) this.rec.broken ??= `${reason} (line ${this.parser.line})`
  }
}

/**
 * XML feeds, streamed with saxes. `records` names the record element (`item`, or a path `feed/item`
 * matched against the innermost elements); without it, the children of the root are the records.
 * A record becomes an object: child elements are fields (nested, repeated ones as arrays),
 * attributes are `@name` fields, text beside child fields is `#text`. A malformed record is skipped;
 * a malformed document (outside records, or cut short) fails the feed with FM_ERR_FEED_READ.
 */
export const parseXml: FeedParser = async function * (opts): AsyncGenerator<ParsedItem> {
  const mapped = opts.indicators.length > 0 ? opts.indicators : undefined
  let guessed: IndicatorField[] | undefined
  const toItem = (ctx: Record<string, unknown>, line: number): ParsedItem => {
    let fields = mapped ?? (guessed ??= guessFields(ctx))
    let indicators = mappedIndicators(ctx, fields)
    if (indicators.length === 0 && mapped === undefined) indicators = mappedIndicators(ctx, fields = guessFields(ctx))
    if (indicators.length > 0) return { indicators, context: ctx, line }
    return fields.length > 0 ? noIndicator(fields, line) : { skipped: true, reason: 'no indicator field (no field mapping, and no field named like an indicator)', line }
  }
  const parser = new SaxesParser({ position: true })
  const reader = new RecordReader(parser, opts.path, (opts.records ?? '').split('/').filter((s) => s !== ''), toItem)
  try {
    for await (const chunk of createReadStream(opts.path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
      parser.write(chunk as string)
      yield * reader.out.splice(0)
    }
    reader.close()
    yield * reader.out.splice(0)
  } catch (err) {
    throw feedError(opts.path, err)
  }
}

function guessFields (ctx: Record<string, unknown>): IndicatorField[] {
  const fields = guessIndicatorFields(Object.keys(ctx))
  // A record that is just text (`<ioc>1.2.3.4</ioc>`) is its own indicator.
  if (fields.length === 0 && typeof ctx['#text'] === 'string') fields.push({ field: '#text', kind: 'auto' })
  return fields
}
