package dev.sandboxmetrics.posix;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Advisory whole-file locks with {@code flock(2)}, the kind runsc takes on a container's {@code .lock} file
 * while it reads or writes the state file. The JDK's {@code FileChannel.lock} takes {@code fcntl} record
 * locks instead, which on Linux neither block nor are blocked by {@code flock} locks, so it cannot exclude
 * a real runsc.
 *
 * <p>Used by discovery (non-blocking try-lock while reading a state file) and by the simulator (blocking
 * lock while writing one).
 */
public final class Flock implements AutoCloseable {
  private final Path path;
  private int fd;

  private Flock(Path path, int fd) {
    this.path = path;
    this.fd = fd;
  }

  /**
   * Takes an exclusive lock without waiting.
   *
   * @param create whether to create the lock file when it does not exist (runsc does; a reader that must
   *     not leave files behind passes false)
   * @return the held lock, or {@code null} when another process holds it
   * @throws NoSuchFileException when the file does not exist and {@code create} is false
   * @throws UnsafeFileException when it is a symbolic link or not a regular file
   * @throws ErrnoException when it cannot be opened otherwise (e.g. EMFILE)
   * @throws IOException for any other failure, naming the file
   */
  public static Flock tryLock(Path lockFile, boolean create) throws IOException {
    int fd = open(lockFile, create);
    try {
      LibC.flock(fd, LibC.LOCK_EX | LibC.LOCK_NB);
      return new Flock(lockFile, fd);
    } catch (LastErrorException e) {
      closeQuietly(fd);
      if (e.getErrorCode() == LibC.EWOULDBLOCK) {
        return null;
      }
      throw new ErrnoException(lockFile.toString(), e.getErrorCode(), "flock: " + LibC.describe(e));
    }
  }

  /** Takes an exclusive lock, waiting for other holders; creates the lock file when missing. */
  public static Flock lock(Path lockFile) throws IOException {
    int fd = open(lockFile, true);
    while (true) {
      try {
        LibC.flock(fd, LibC.LOCK_EX);
        return new Flock(lockFile, fd);
      } catch (LastErrorException e) {
        if (e.getErrorCode() == LibC.EINTR) {
          continue;
        }
        closeQuietly(fd);
        throw new IOException("flock " + lockFile + ": " + LibC.describe(e), e);
      }
    }
  }

  public Path path() {
    return path;
  }

  /** Releases the lock (closing the descriptor releases it). Idempotent. */
  @Override
  public synchronized void close() {
    if (fd >= 0) {
      closeQuietly(fd);
      fd = -1;
    }
  }

  /**
   * Opens the lock file as {@link RegularFile} does: a symbolic link is not followed, a FIFO does not block
   * the open, and anything but a regular file is refused. runsc never makes a lock file anything else.
   */
  private static int open(Path lockFile, boolean create) throws IOException {
    int flags = LibC.O_RDONLY | (create ? LibC.O_CREAT : 0);
    try (RegularFile f = RegularFile.open(lockFile, flags, 0640)) {
      return f.takeDescriptor();
    }
  }

  private static void closeQuietly(int fd) {
    try {
      LibC.close(fd);
    } catch (LastErrorException ignored) {
      // Nothing useful to do: the descriptor is gone either way.
    }
  }
}
