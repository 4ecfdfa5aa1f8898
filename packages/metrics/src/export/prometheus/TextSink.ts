/** About how much text goes into one chunk of a response. */
const CHUNK_CHARS = 64 * 1024;

/**
 * Collects a text response as UTF-8 Buffers of about 64 KiB, ready to be
 * written to a socket one at a time (a lone surrogate becomes U+FFFD, so
 * the bytes are always valid UTF-8).
 */
export class TextSink {
  private readonly _chunks: Buffer[] = [];
  private _text = '';

  write(text: string): void {
    this._text += text;
    if (this._text.length >= CHUNK_CHARS) this._flush();
  }

  /** The chunks written, the last one included. */
  finish(): Buffer[] {
    this._flush();
    return this._chunks;
  }

  private _flush(): void {
    if (this._text.length === 0) return;
    this._chunks.push(Buffer.from(this._text, 'utf8'));
    this._text = '';
  }
}
