package dev.sandboxmetrics.posix;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Opens, reads and writes files in directories that others write to (the runtime root, the PID file's
 * directory) so that nothing found there can block, redirect or exhaust the reader: symbolic links are never
 * followed ({@code O_NOFOLLOW}), an open never waits ({@code O_NONBLOCK}: a FIFO would wait for a writer),
 * anything but a regular file is refused before it is opened (opening a device node runs its driver), the
 * opened descriptor is checked again ({@code fstat}), and reads stop at a size the caller gives.
 *
 * <p>Used by discovery for state files and, through {@link Flock}, for lock files, and by the metric server
 * for its PID file. The file's {@code stat} attributes come from the JDK
 * ({@code unix:mode,size,lastModifiedTime,fileKey}; the key is device and inode) of {@code /proc/self/fd/N},
 * which names the opened file itself, so they compare equal to what {@code Files.readAttributes} says about
 * the same file elsewhere.
 */
public final class RegularFile implements AutoCloseable {
  /** The attributes {@link #attributes()} holds, as {@code Files.readAttributes} names them. */
  public static final String ATTRIBUTES = "unix:mode,size,lastModifiedTime,fileKey";

  private static final int S_IFMT = 0170000;
  private static final int S_IFREG = 0100000;
  private static final int S_IFLNK = 0120000;
  private static final int READ_CHUNK = 64 * 1024;

  private final Path path;
  private final Map<String, Object> attributes;
  private int fd;

  private RegularFile(Path path, int fd, Map<String, Object> attributes) {
    this.path = path;
    this.fd = fd;
    this.attributes = attributes;
  }

  /**
   * Opens a regular file for reading.
   *
   * @throws NoSuchFileException when it does not exist
   * @throws UnsafeFileException when it is a symbolic link or not a regular file (it is not opened then)
   * @throws ErrnoException when {@code open(2)} fails otherwise (e.g. EMFILE)
   */
  public static RegularFile open(Path path) throws IOException {
    return open(path, LibC.O_RDONLY, 0);
  }

  static RegularFile open(Path path, int accessFlags, int createMode) throws IOException {
    // lstat first: a FIFO, device or directory is refused without being opened.
    Map<String, Object> seen;
    try {
      seen = Files.readAttributes(path, ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      if ((accessFlags & LibC.O_CREAT) == 0) {
        throw e;
      }
      seen = null;
    }
    if (seen != null) {
      requireRegular(path, seen);
    }
    int flags = accessFlags | LibC.O_NOFOLLOW | LibC.O_NONBLOCK | LibC.O_CLOEXEC;
    int fd;
    try {
      fd = LibC.open(path.toString(), flags, createMode);
    } catch (LastErrorException e) {
      throw translate(path, e);
    }
    try {
      // Again on the descriptor: the name may have been replaced between the lstat and the open.
      Map<String, Object> opened = Files.readAttributes(procPath(fd), ATTRIBUTES);
      requireRegular(path, opened);
      return new RegularFile(path, fd, opened);
    } catch (IOException | RuntimeException e) {
      closeQuietly(fd);
      throw e;
    }
  }

  /**
   * Replaces the content of a regular file, creating it with {@code mode} when missing, without following a
   * symbolic link at its name and without blocking on a FIFO there.
   *
   * @throws UnsafeFileException when the name is a symbolic link or not a regular file
   */
  public static void write(Path path, byte[] content, int mode) throws IOException {
    try (RegularFile f = open(path, LibC.O_WRONLY | LibC.O_CREAT, mode)) {
      f.writeAll(content);
    }
  }

  /** The file's {@code stat} attributes when it was opened ({@link #ATTRIBUTES}). */
  public Map<String, Object> attributes() {
    return attributes;
  }

  public long size() {
    return ((Number) attributes.get("size")).longValue();
  }

  /**
   * Reads the whole file, refusing one larger than {@code maxBytes} (by its size when opened, or when it
   * grew while being read) without reading more than {@code maxBytes + 1} bytes of it.
   *
   * @throws UnsafeFileException ({@link UnsafeFileException.Kind#TOO_LARGE}) when it is larger
   */
  public byte[] readAll(int maxBytes) throws IOException {
    if (size() > maxBytes) {
      throw tooLarge(maxBytes, "its size is " + size() + " bytes");
    }
    byte[] out = new byte[(int) size()];
    int total = 0;
    byte[] chunk = new byte[(int) Math.min(READ_CHUNK, Math.max(size(), 1) + 1)];
    while (true) {
      int want = (int) Math.min(chunk.length, (long) maxBytes + 1 - total);
      int n;
      try {
        n = LibC.read(checkOpen(), chunk, want);
      } catch (LastErrorException e) {
        if (e.getErrorCode() == LibC.EINTR) {
          continue;
        }
        throw new ErrnoException(path.toString(), e.getErrorCode(), "read: " + LibC.describe(e));
      }
      if (n <= 0) {
        return total == out.length ? out : Arrays.copyOf(out, total);
      }
      if ((long) total + n > maxBytes) {
        throw tooLarge(maxBytes, "it grew while being read");
      }
      if (total + n > out.length) {
        out = Arrays.copyOf(out, Math.min(maxBytes, Math.max(total + n, out.length * 2)));
      }
      System.arraycopy(chunk, 0, out, total, n);
      total += n;
    }
  }

  private void writeAll(byte[] content) throws IOException {
    try {
      LibC.ftruncate(checkOpen(), 0);
      int done = 0;
      while (done < content.length) {
        byte[] rest = done == 0 ? content : Arrays.copyOfRange(content, done, content.length);
        try {
          done += LibC.write(fd, rest, rest.length);
        } catch (LastErrorException e) {
          if (e.getErrorCode() != LibC.EINTR) {
            throw e;
          }
        }
      }
    } catch (LastErrorException e) {
      throw new ErrnoException(path.toString(), e.getErrorCode(), "write: " + LibC.describe(e));
    }
  }

  @Override
  public synchronized void close() {
    if (fd >= 0) {
      closeQuietly(fd);
      fd = -1;
    }
  }

  /** Hands the descriptor over to the caller, who closes it; this object is closed afterwards. */
  synchronized int takeDescriptor() {
    int taken = checkOpen();
    fd = -1;
    return taken;
  }

  private int checkOpen() {
    if (fd < 0) {
      throw new IllegalStateException("closed: " + path);
    }
    return fd;
  }

  private UnsafeFileException tooLarge(int maxBytes, String why) {
    return new UnsafeFileException(
        path.toString(), UnsafeFileException.Kind.TOO_LARGE, "larger than the limit of " + maxBytes + " bytes (" + why + ")");
  }

  /** The name of an open descriptor in procfs; its stat is that of the opened file. */
  static Path procPath(int fd) {
    return Path.of("/proc/self/fd/" + fd);
  }

  static void requireRegular(Path path, Map<String, Object> attributes) throws UnsafeFileException {
    int type = ((Number) attributes.get("mode")).intValue() & S_IFMT;
    if (type == S_IFLNK) {
      throw new UnsafeFileException(
          path.toString(), UnsafeFileException.Kind.SYMBOLIC_LINK, "is a symbolic link (not followed)");
    }
    if (type != S_IFREG) {
      throw new UnsafeFileException(
          path.toString(), UnsafeFileException.Kind.NOT_REGULAR, "is not a regular file (" + typeName(type) + ")");
    }
  }

  private static String typeName(int type) {
    switch (type) {
      case 0010000:
        return "a FIFO";
      case 0020000:
        return "a character device";
      case 0040000:
        return "a directory";
      case 0060000:
        return "a block device";
      case 0140000:
        return "a socket";
      default:
        return "file type " + Integer.toOctalString(type);
    }
  }

  /** The exception for a failed {@code open(2)} of {@code path}. */
  static IOException translate(Path path, LastErrorException e) {
    int errno = e.getErrorCode();
    if (errno == LibC.ENOENT) {
      return new NoSuchFileException(path.toString());
    }
    if (errno == LibC.ELOOP) {
      return new UnsafeFileException(
          path.toString(), UnsafeFileException.Kind.SYMBOLIC_LINK, "is a symbolic link (not followed)");
    }
    return new ErrnoException(path.toString(), errno, "open: " + LibC.describe(e));
  }

  static void closeQuietly(int fd) {
    try {
      LibC.close(fd);
    } catch (LastErrorException ignored) {
      // The descriptor is gone either way.
    }
  }
}
