package dev.sandboxmetrics.runsc.discovery;

import dev.sandboxmetrics.posix.RegularFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.Objects;

/**
 * What {@code stat(2)} says about a state file, enough to tell whether it changed: modification time, size,
 * device and inode (runsc's {@code sufficientlyEqualStats}). A metric server remembers the identity of state
 * files it decided to ignore (a sandbox that wants another server, a leftover of a killed sandbox) and skips
 * them on later scans until their identity changes, so that it does not re-read foreign files every 20 s.
 *
 * <p>Device and inode are held as the JDK's {@link BasicFileAttributes#fileKey() file key}, which on Linux
 * is exactly that pair and compares by it: so the metric server's scans, which stat every state file at
 * every scrape, read the plain {@link BasicFileAttributes} (one {@code lstat}, no attribute map built per
 * file), and an identity read either way equals the other.
 */
public record FileIdentity(FileTime modified, long size, Object fileKey) {
  public FileIdentity {
    Objects.requireNonNull(modified, "modified");
    // Without a key, two files of the same size and time would look alike; Linux always gives one.
    Objects.requireNonNull(fileKey, "the file system gives no file key (device and inode)");
  }

  /**
   * Stats a file without following a symbolic link (runsc's {@code os.Stat} follows; we never read through
   * a link, so the link itself is what we remember).
   *
   * @throws java.nio.file.NoSuchFileException when it does not exist
   */
  public static FileIdentity of(Path path) throws IOException {
    return of(Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS));
  }

  /** The identity in attributes read as {@link BasicFileAttributes}. */
  public static FileIdentity of(BasicFileAttributes a) {
    return new FileIdentity(a.lastModifiedTime(), a.size(), a.fileKey());
  }

  /** The identity in attributes read as {@link RegularFile#ATTRIBUTES} names them. */
  public static FileIdentity of(Map<String, Object> a) {
    return new FileIdentity(
        (FileTime) a.get("lastModifiedTime"), ((Number) a.get("size")).longValue(), a.get("fileKey"));
  }

  // Written out rather than the record's generated ones, which the metric server's C1-only JIT calls
  // through method handles; scans compare every state file's identity at every scrape.
  @Override
  public boolean equals(Object o) {
    return o instanceof FileIdentity f && size == f.size && fileKey.equals(f.fileKey) && modified.equals(f.modified);
  }

  @Override
  public int hashCode() {
    return (31 * modified.hashCode() + Long.hashCode(size)) * 31 + fileKey.hashCode();
  }
}
