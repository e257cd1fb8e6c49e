package dev.sandboxmetrics.runsc.discovery;

import dev.sandboxmetrics.posix.RegularFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;

/**
 * What {@code stat(2)} says about a state file, enough to tell whether it changed: modification time, size,
 * device and inode (runsc's {@code sufficientlyEqualStats}). A metric server remembers the identity of state
 * files it decided to ignore (a sandbox that wants another server, a leftover of a killed sandbox) and skips
 * them on later scans until their identity changes, so that it does not re-read foreign files every 20 s.
 */
public record FileIdentity(FileTime modified, long size, long device, long inode) {
  /**
   * Stats a file without following a symbolic link (runsc's {@code os.Stat} follows; we never read through
   * a link, so the link itself is what we remember).
   *
   * @throws java.nio.file.NoSuchFileException when it does not exist
   */
  public static FileIdentity of(Path path) throws IOException {
    return of(Files.readAttributes(path, RegularFile.ATTRIBUTES, LinkOption.NOFOLLOW_LINKS));
  }

  /** The identity in attributes read as {@link RegularFile#ATTRIBUTES} names them. */
  public static FileIdentity of(Map<String, Object> a) {
    return new FileIdentity(
        (FileTime) a.get("lastModifiedTime"),
        ((Number) a.get("size")).longValue(),
        ((Number) a.get("dev")).longValue(),
        ((Number) a.get("ino")).longValue());
  }
}
