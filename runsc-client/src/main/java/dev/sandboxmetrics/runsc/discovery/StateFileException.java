package dev.sandboxmetrics.runsc.discovery;

import java.nio.file.Path;

/**
 * A state file that cannot be read or does not have the runsc shape (corrupt JSON, a field of the wrong
 * type, IDs that contradict the file name). The message starts with the file's path.
 */
public final class StateFileException extends DiscoveryException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;

  public StateFileException(Path file, String problem) {
    super("state file " + file + ": " + problem);
    this.file = file;
  }

  public StateFileException(Path file, String problem, Throwable cause) {
    this(file, problem, cause, false);
  }

  public StateFileException(Path file, String problem, Throwable cause, boolean retryable) {
    super("state file " + file + ": " + problem, cause, retryable);
    this.file = file;
  }

  /** The state file at fault. */
  public Path file() {
    return file;
  }
}
