/**
 * Worker side: a detection rendered as an output record, cut around its line number (protocol.ts).
 * NDJSON and CSV have the columns of DESIGN.md section 6; `text` is for people; `message` and
 * `frame` go through the same renderer (templates, presets, syslog framing) as `serve`.
 */
import type { Detection } from '../match/detection.js'
import type { Renderer } from '../render/renderer.js'
import { csvField } from '../util/text.js'
import type { RecordFormat } from './protocol.js'

/** The CSV header line (the main thread writes it once). */
export const CSV_HEADER = 'feed,category,type,matched,value,rule,context,file,line\n'

/** A rendered record: what comes before the line number, and after it. */
export interface RecordParts { head: string, tail: string }

/** Renders detections in one format; `file` is the label the output names. */
export type RecordRenderer = (d: Detection, file: string) => RecordParts

/** The renderer of a format; `renderer` serves `message` and `frame`. */
export function recordRenderer (format: RecordFormat, renderer: Renderer): RecordRenderer {
  const parts: RecordParts = { head: '', tail: '' }
  switch (format) {
    case 'ndjson':
      return (d, file) => {
        // Key order is the documented column order; `line` comes last so only the tail follows it.
        parts.head = `{"feed":${JSON.stringify(d.feed)},"category":${JSON.stringify(d.category)},"type":${JSON.stringify(d.type)},` +
          `"matched":${JSON.stringify(d.matched)},"value":${JSON.stringify(d.value)},"rule":${JSON.stringify(d.rule)},` +
          `"context":${JSON.stringify(d.context)},"file":${JSON.stringify(file)},"line":`
        parts.tail = '}\n'
        return parts
      }
    case 'csv':
      return (d, file) => {
        parts.head = [d.feed, d.category, d.type, d.matched, d.value, d.rule, JSON.stringify(d.context), file].map(csvField).join(',') + ','
        parts.tail = '\n'
        return parts
      }
    case 'text':
      return (d, file) => {
        parts.head = `${oneLine(file)}:`
        const via = d.matched === d.value ? '' : ` via ${oneLine(d.matched)}`
        parts.tail = `: ${d.type} ${oneLine(d.value)}${via} in ${d.feed} (${d.category}) [${d.rule}]\n`
        return parts
      }
    case 'message':
      return (d) => { parts.head = renderer.renderDetection(d) + '\n'; parts.tail = ''; return parts }
    case 'frame':
      return (d) => { parts.head = renderer.detectionFrame(d); parts.tail = ''; return parts }
  }
}

/** Control characters would break the one-record-a-line text output: shown as `?`. */
function oneLine (s: string): string {
  return /[\u0000-\u001f\u007f]/.test(s) ? s.replace(/[\u0000-\u001f\u007f]/g, '?') : s
}
