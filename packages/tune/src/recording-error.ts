/** A recording or span export that cannot be read: says which file, which line and what is wrong. */
export class RecordingError extends Error {
  override readonly name = 'RecordingError';
  constructor(
    message: string,
    /** The file, if any. */
    readonly file?: string,
    /** The 1-based line, if any. */
    readonly line?: number,
  ) {
    super(file === undefined ? message : `${file}${line === undefined ? '' : `:${line}`}: ${message}`);
  }
}
