package dev.sandboxmetrics.posix;

import java.nio.file.FileSystemException;

/**
 * A system call on a file failed with {@code errno}. Callers that scan a directory full of files use
 * {@link #isResourceShortage()} to tell a shortage of the process or the system (out of descriptors or
 * memory: try again later) from a fact about the file (try again when it changes).
 */
public class ErrnoException extends FileSystemException {
  private static final long serialVersionUID = 1L;

  private final int errno;

  ErrnoException(String file, int errno, String reason) {
    super(file, null, reason);
    this.errno = errno;
  }

  public int errno() {
    return errno;
  }

  /**
   * True for EMFILE, ENFILE, ENOMEM, EAGAIN and EINTR: the process or the system is short of something for a
   * moment; the file itself may be fine.
   */
  public boolean isResourceShortage() {
    return isResourceShortage(errno);
  }

  static boolean isResourceShortage(int errno) {
    return errno == LibC.EMFILE || errno == LibC.ENFILE || errno == LibC.ENOMEM || errno == LibC.EAGAIN
        || errno == LibC.EINTR;
  }
}
