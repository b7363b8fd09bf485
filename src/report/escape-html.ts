/** HTML escaping for report.html and its resource charts (a module of its own, so the two files need not import each other). */

/** Control characters (other than tab and newlines) and lone surrogates: not allowed in HTML text. */
// eslint-disable-next-line no-control-regex
const INVALID_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes any value for HTML text and for a double- or single-quoted attribute value
 * (`& < > " '`), and replaces characters HTML does not allow with U+FFFD.
 */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(INVALID_CHARS, '\uFFFD')
    .replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}
