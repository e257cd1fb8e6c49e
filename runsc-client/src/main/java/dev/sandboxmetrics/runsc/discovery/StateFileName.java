package dev.sandboxmetrics.runsc.discovery;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The identity encoded in a runsc state file name, {@code <containerID>_sandbox:<sandboxID>.state}, and the
 * paths derived from it. {@link RootDirectory} lists these; everything that loads a container starts here.
 *
 * <p>IDs are what runsc accepts ({@code [\w+.-]+}); runsc never puts {@code _sandbox:} inside an ID, and the
 * sandbox ID cannot contain {@code :}, so the name splits unambiguously at its last {@code _sandbox:}.
 */
public record StateFileName(String containerId, String sandboxId) implements Comparable<StateFileName> {
  static final String STATE_SUFFIX = ".state";
  static final String LOCK_SUFFIX = ".lock";
  static final String SEPARATOR = "_sandbox:";

  public StateFileName {
    if (!isValidId(containerId) || !isValidId(sandboxId)) {
      throw new IllegalArgumentException(
          "invalid container/sandbox ID " + containerId + "/" + sandboxId + ": IDs match [\\w+.-]+");
    }
  }

  /** Parses a file name (not a path); empty when it is not a valid state file name. */
  public static Optional<StateFileName> parse(String fileName) {
    if (!fileName.endsWith(STATE_SUFFIX)) {
      return Optional.empty();
    }
    String stem = fileName.substring(0, fileName.length() - STATE_SUFFIX.length());
    int sep = stem.lastIndexOf(SEPARATOR);
    if (sep < 0) {
      return Optional.empty();
    }
    String cid = stem.substring(0, sep);
    String sid = stem.substring(sep + SEPARATOR.length());
    if (!isValidId(cid) || !isValidId(sid)) {
      return Optional.empty();
    }
    return Optional.of(new StateFileName(cid, sid));
  }

  /** True for what runsc accepts as a container or sandbox ID: {@code ^[\w+.-]+$} with Go's ASCII {@code \w}. */
  public static boolean isValidId(String id) {
    if (id == null || id.isEmpty()) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '_' || c == '+' || c == '.' || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /** True for the root container's file of a sandbox by naming convention (container ID == sandbox ID). */
  public boolean namesSandboxItself() {
    return containerId.equals(sandboxId);
  }

  public String fileName() {
    return containerId + SEPARATOR + sandboxId + STATE_SUFFIX;
  }

  public Path statePath(Path root) {
    return root.resolve(fileName());
  }

  /** The {@code flock(2)} file runsc holds while it writes the state file. */
  public Path lockPath(Path root) {
    return root.resolve(containerId + SEPARATOR + sandboxId + LOCK_SUFFIX);
  }

  @Override
  public int compareTo(StateFileName o) {
    int c = sandboxId.compareTo(o.sandboxId);
    return c != 0 ? c : containerId.compareTo(o.containerId);
  }

  // Written out rather than the record's generated ones, which the metric server's C1-only JIT calls
  // through method handles; a scan looks up every state file's name in maps at every scrape.
  @Override
  public boolean equals(Object o) {
    return o instanceof StateFileName n && containerId.equals(n.containerId) && sandboxId.equals(n.sandboxId);
  }

  @Override
  public int hashCode() {
    return 31 * containerId.hashCode() + sandboxId.hashCode();
  }

  /** {@code sandbox/container}, as runsc prints a full ID. */
  @Override
  public String toString() {
    return sandboxId + "/" + containerId;
  }
}
