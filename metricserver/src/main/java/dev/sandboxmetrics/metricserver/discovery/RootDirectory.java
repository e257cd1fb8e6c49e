package dev.sandboxmetrics.metricserver.discovery;

import dev.sandboxmetrics.posix.Flock;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * An OCI runtime root directory as runsc lays it out ({@code --root}, default {@code /var/run/runsc}): one
 * {@code <cid>_sandbox:<sid>.state} file per container, each beside a {@code .lock} file that runsc holds
 * with {@code flock(2)} while it writes. This class lists sandboxes, resolves container ID prefixes and
 * loads state files; it is used by {@code export-metrics} and by the metric server's scans. Stateless and
 * thread-safe: every call reads the directory anew.
 *
 * <p>Locking: reads take the lock without waiting ({@code LOCK_EX|LOCK_NB}, as runsc's metric server does);
 * a held lock is {@link LoadResult.Busy}, not an error. runsc creates the lock file before it first writes
 * the state file and removes both together, so a missing lock file means the state file was not written by
 * a runsc that locks; we then read without the lock rather than create a lock file, because a reader must
 * not leave files behind in a directory it does not own.
 */
public final class RootDirectory {
  private final Path path;

  public RootDirectory(Path path) {
    this.path = path;
  }

  public Path path() {
    return path;
  }

  /**
   * Every state file name in the directory, sorted by sandbox then container ID. Files whose names do not
   * parse are not state files and are skipped.
   *
   * @throws NoSuchFileException when the root directory does not exist
   * @throws IOException when it cannot be listed
   */
  public List<StateFileName> listStateFiles() throws IOException {
    List<StateFileName> names = new ArrayList<>();
    // No glob filter: StateFileName.parse is the filter, and a glob costs a regular expression compiled
    // on every call (and java.util.regex's start-up in a one-shot command).
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(path)) {
      for (Path p : dir) {
        StateFileName.parse(p.getFileName().toString()).ifPresent(names::add);
      }
    }
    names.sort(null);
    return names;
  }

  /** The distinct sandbox IDs that have at least one state file, sorted. */
  public List<String> listSandboxIds() throws IOException {
    TreeSet<String> ids = new TreeSet<>();
    for (StateFileName n : listStateFiles()) {
      ids.add(n.sandboxId());
    }
    return List.copyOf(ids);
  }

  /** The state files of one sandbox (exact sandbox ID), sorted by container ID. */
  public List<StateFileName> listContainers(String sandboxId) throws IOException {
    List<StateFileName> out = new ArrayList<>();
    for (StateFileName n : listStateFiles()) {
      if (n.sandboxId().equals(sandboxId)) {
        out.add(n);
      }
    }
    return out;
  }

  /** The stat identity of a container's state file, without reading or locking it. */
  public FileIdentity stat(StateFileName name) throws IOException {
    return FileIdentity.of(name.statePath(path));
  }

  /**
   * Resolves what a user typed as a container ID: an exact container ID first, then an ID prefix that only
   * one container has. The same container ID in two sandboxes is ambiguous too.
   */
  public ContainerLookup findContainer(String idOrPrefix) throws IOException {
    if (idOrPrefix == null || idOrPrefix.isEmpty()) {
      return new ContainerLookup.NotFound("", path);
    }
    List<StateFileName> all = listStateFiles();
    List<StateFileName> exact = new ArrayList<>();
    List<StateFileName> prefixed = new ArrayList<>();
    for (StateFileName n : all) {
      if (n.containerId().equals(idOrPrefix)) {
        exact.add(n);
      } else if (n.containerId().startsWith(idOrPrefix)) {
        prefixed.add(n);
      }
    }
    List<StateFileName> matches = exact.isEmpty() ? prefixed : exact;
    if (matches.isEmpty()) {
      return new ContainerLookup.NotFound(idOrPrefix, path);
    }
    if (matches.size() > 1) {
      return new ContainerLookup.Ambiguous(idOrPrefix, matches);
    }
    return new ContainerLookup.Found(matches.get(0));
  }

  /**
   * Loads one container's state file under a non-blocking lock.
   *
   * @throws StateFileException when the file is unreadable or not a valid state file
   * @throws DiscoveryException when its lock file cannot be opened or locked for a reason other than
   *     another holder
   */
  public LoadResult<ContainerState> loadContainer(StateFileName name) throws DiscoveryException {
    Path lockFile = name.lockPath(path);
    Path stateFile = name.statePath(path);
    Flock lock;
    try {
      lock = Flock.tryLock(lockFile, false);
      if (lock == null) {
        return new LoadResult.Busy<>(lockFile);
      }
    } catch (NoSuchFileException e) {
      lock = null; // Not written by a locking runsc; see the class comment.
    } catch (IOException e) {
      throw new DiscoveryException("cannot lock " + lockFile + " to read " + stateFile + ": " + e.getMessage(), e);
    }
    try {
      FileIdentity identity;
      byte[] bytes;
      try {
        identity = FileIdentity.of(stateFile);
        bytes = Files.readAllBytes(stateFile);
      } catch (NoSuchFileException e) {
        return new LoadResult.Missing<>("container " + name.containerId() + " of sandbox " + name.sandboxId());
      } catch (IOException e) {
        throw new StateFileException(stateFile, "cannot be read: " + e, e);
      }
      return new LoadResult.Loaded<>(StateFileParser.parse(name, stateFile, identity, bytes));
    } finally {
      if (lock != null) {
        lock.close();
      }
    }
  }

  /**
   * Loads every container of a sandbox (exact sandbox ID) and derives its labels and metadata.
   *
   * @return {@link LoadResult.Busy} when any of its state files is locked (the sandbox is being created or
   *     changed); {@link LoadResult.Missing} when it has no state file any more
   * @throws DiscoveryException when a state file is corrupt or the containers do not form a sandbox (no root
   *     container, several)
   */
  public LoadResult<SandboxInfo> loadSandbox(String sandboxId) throws DiscoveryException {
    List<StateFileName> names;
    try {
      names = listContainers(sandboxId);
    } catch (IOException e) {
      throw new DiscoveryException("cannot list root directory " + path + ": " + e, e);
    }
    List<ContainerState> containers = new ArrayList<>();
    for (StateFileName n : names) {
      LoadResult<ContainerState> r = loadContainer(n);
      if (r instanceof LoadResult.Busy<ContainerState> busy) {
        return new LoadResult.Busy<>(busy.lockFile());
      }
      if (r instanceof LoadResult.Loaded<ContainerState> loaded) {
        containers.add(loaded.value());
      }
      // Missing: raced with the deletion of a container; the others still make the sandbox.
    }
    if (containers.isEmpty()) {
      return new LoadResult.Missing<>("sandbox " + sandboxId);
    }
    return new LoadResult.Loaded<>(SandboxInfo.of(path, containers));
  }

  @Override
  public String toString() {
    return path.toString();
  }
}
