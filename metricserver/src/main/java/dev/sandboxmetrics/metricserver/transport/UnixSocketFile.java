package dev.sandboxmetrics.metricserver.transport;

import dev.sandboxmetrics.posix.PathHandle;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The life of the socket file of a Unix-socket listener (docs/runsc-protocol.md section 9): before binding, a stale
 * socket file that nobody listens on is removed (runsc refuses to start there, which makes a crashed server
 * need manual cleaning) while a live one means the address is in use; after binding, the file gets its mode
 * ({@code --socket-mode}; runsc's 0777 by default, access then being governed by its directory) and its
 * inode is remembered; on shutdown it is removed only if it is still the file we created, so a socket that
 * someone else put there meanwhile is left alone.
 *
 * <p>Used by the metric server around {@link Transport#bindUnix}.
 */
public final class UnixSocketFile {
  private static final Logger log = LoggerFactory.getLogger(UnixSocketFile.class);

  private final Path path;
  private long device;
  private long inode;
  private boolean owned;

  private UnixSocketFile(Path path) {
    this.path = path;
  }

  /** Thrown when another process already listens at the path. */
  public static final class AddressInUseException extends IOException {
    private static final long serialVersionUID = 1L;

    AddressInUseException(String message) {
      super(message);
    }
  }

  /**
   * Makes the path ready for binding: nothing there, or a stale socket file that is removed.
   *
   * @throws AddressInUseException when a process accepts connections there
   * @throws IOException when the path is something other than a socket, or cannot be checked or removed
   */
  public static UnixSocketFile prepare(Path path) throws IOException {
    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      return new UnixSocketFile(path);
    }
    if (!isSocket(path)) {
      throw new IOException("cannot listen on " + path + ": the file exists and is not a Unix socket");
    }
    if (acceptsConnections(path)) {
      throw new AddressInUseException(
          "cannot listen on " + path + ": address in use (another process accepts connections on this socket)");
    }
    log.info("Removing stale socket file {}: nobody accepts connections on it.", path);
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      throw new IOException("cannot remove stale socket file " + path + ": " + e.getMessage(), e);
    }
    return new UnixSocketFile(path);
  }

  /** After binding: chmod to {@code mode} (runsc: 0777) and remember which file is ours. */
  public void claim(int mode) throws IOException {
    Map<String, Object> st = Files.readAttributes(path, "unix:dev,ino", LinkOption.NOFOLLOW_LINKS);
    device = ((Number) st.get("dev")).longValue();
    inode = ((Number) st.get("ino")).longValue();
    owned = true;
    Files.setPosixFilePermissions(path, permissions(mode));
    log.info("Bound on socket file {}, which we created; it will be removed on shutdown.", path);
  }

  public Path path() {
    return path;
  }

  /** Removes the socket file if it is still the one we created. Idempotent; never throws. */
  public synchronized void release() {
    if (!owned) {
      return;
    }
    owned = false;
    try {
      Map<String, Object> st = Files.readAttributes(path, "unix:dev,ino", LinkOption.NOFOLLOW_LINKS);
      if (((Number) st.get("dev")).longValue() != device || ((Number) st.get("ino")).longValue() != inode) {
        log.info("Socket file {} was replaced by another file since we bound it; leaving it alone.", path);
        return;
      }
      Files.delete(path);
      log.debug("Removed socket file {}.", path);
    } catch (NoSuchFileException e) {
      log.debug("Socket file {} is already gone.", path);
    } catch (IOException e) {
      log.warn("Cannot remove socket file {}: {}", path, e.toString());
    }
  }

  static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] bits = PosixFilePermission.values(); // OWNER_READ ... OTHERS_EXECUTE, high bit first
    for (int i = 0; i < bits.length; i++) {
      if ((mode & (1 << (bits.length - 1 - i))) != 0) {
        set.add(bits[i]);
      }
    }
    return set;
  }

  private static boolean isSocket(Path path) throws IOException {
    Object mode = Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    return (((Number) mode).intValue() & 0170000) == 0140000;
  }

  /** Connects to the socket: refused means stale, accepted means live. */
  private static boolean acceptsConnections(Path path) throws IOException {
    PathHandle handle = PathHandle.tooLongForSocket(path) ? PathHandle.open(path) : null;
    Path target = handle == null ? path : handle.procPath();
    try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      probe.connect(UnixDomainSocketAddress.of(target));
      return true;
    } catch (ConnectException e) {
      return false;
    } finally {
      if (handle != null) {
        handle.close();
      }
    }
  }
}
