package dev.sandboxmetrics.posix;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * An {@code O_PATH} descriptor for a file, usable through {@code /proc/self/fd/N}. A Unix socket path of 108
 * bytes or more does not fit in {@code sockaddr_un}; runsc opens such a path with {@code O_PATH} and
 * connects to the short {@code /proc/self/fd/N} name instead, and so do we. Close it after connecting.
 */
public final class PathHandle implements AutoCloseable {
  /** The longest path {@code sockaddr_un} holds, with its terminating NUL. */
  public static final int MAX_SOCKET_PATH_BYTES = 107;

  private final Path target;
  private int fd;

  private PathHandle(Path target, int fd) {
    this.target = target;
    this.fd = fd;
  }

  public static PathHandle open(Path path) throws IOException {
    try {
      int fd = LibC.open(path.toString(), LibC.O_PATH | LibC.O_CLOEXEC, 0);
      return new PathHandle(path, fd);
    } catch (LastErrorException e) {
      if (e.getErrorCode() == LibC.ENOENT) {
        throw new NoSuchFileException(path.toString());
      }
      throw new IOException("open " + path + ": " + LibC.describe(e), e);
    }
  }

  /** True when the path is too long to be used directly in {@code connect(2)}. */
  public static boolean tooLongForSocket(Path path) {
    return path.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_SOCKET_PATH_BYTES;
  }

  /** The short name of the file through this descriptor. */
  public Path procPath() {
    if (fd < 0) {
      throw new IllegalStateException("closed: " + target);
    }
    return Path.of("/proc/self/fd/" + fd);
  }

  public Path target() {
    return target;
  }

  @Override
  public synchronized void close() {
    if (fd >= 0) {
      try {
        LibC.close(fd);
      } catch (LastErrorException ignored) {
        // The descriptor is gone either way.
      }
      fd = -1;
    }
  }
}
