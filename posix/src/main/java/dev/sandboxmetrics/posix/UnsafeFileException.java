package dev.sandboxmetrics.posix;

import java.nio.file.FileSystemException;

/**
 * A file that {@link RegularFile} refuses to open or read: a symbolic link (never followed), something that
 * is not a regular file (a FIFO, a device node, a directory, a socket), or a file larger than the caller
 * allows. This is a fact about the file as it is now, not a passing failure: retrying is pointless until
 * the file changes.
 */
public final class UnsafeFileException extends FileSystemException {
  private static final long serialVersionUID = 1L;

  /** What is wrong with the file. */
  public enum Kind {
    SYMBOLIC_LINK,
    NOT_REGULAR,
    TOO_LARGE
  }

  private final Kind kind;

  UnsafeFileException(String file, Kind kind, String reason) {
    super(file, null, reason);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
