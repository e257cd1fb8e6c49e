package dev.sandboxmetrics.runsc.discovery;

import dev.sandboxmetrics.posix.ErrnoException;
import dev.sandboxmetrics.posix.Flock;
import dev.sandboxmetrics.posix.RegularFile;
import dev.sandboxmetrics.posix.UnsafeFileException;
import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;

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
 *
 * <p>Hostile files: whoever can write the directory is trusted (root, runsc), yet a mistake or an attacker
 * there must not block or exhaust a scan. State and lock files are opened as {@link RegularFile} does: no
 * symbolic link is followed (runsc writes none), no open waits (a FIFO), nothing but a regular file is
 * opened at all (a device node, a directory named {@code *.state}), and a state file larger than
 * {@link #MAX_STATE_FILE_BYTES} is refused unread. Such a file is a {@link StateFileException}, not a crash.
 */
public final class RootDirectory {
  /**
   * The largest state file read: 4 MiB. Real ones are about 10 KB; their largest part is the metric
   * registration, 23 KB for the 175 metrics of testdata/bench/registration-175.json, so this leaves over a
   * hundredfold headroom while keeping what one scan reads at a time bounded.
   */
  public static final int MAX_STATE_FILE_BYTES = 4 * 1024 * 1024;

  private final Path path;
  private final AtomicLong listings = new AtomicLong();
  private final AtomicLong stateFileReads = new AtomicLong();

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
    listings.incrementAndGet();
    // No glob filter: StateFileName.parse is the filter, and a glob costs a regular expression compiled
    // on every call (and java.util.regex's start-up in a one-shot command).
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(path)) {
      for (Path p : dir) {
        Optional<StateFileName> name = StateFileName.parse(p.getFileName().toString());
        if (name.isPresent()) {
          names.add(name.get());
        }
      }
    } catch (DirectoryIteratorException e) {
      throw e.getCause(); // readdir failed in the middle; the caller handles it like a failed opendir.
    }
    names.sort(null);
    return names;
  }

  /**
   * A state file found by {@link #listStateFilesWithIdentities()}: its stat identity, or (when it could not
   * be stat'ed, e.g. deleted since it was listed: {@link NoSuchFileException}) why not.
   */
  public record Listed(StateFileName name, FileIdentity identity, IOException statFailure) {}

  /**
   * {@link #listStateFiles()} with each file's stat identity (what {@link FileIdentity#of(Path)} gives),
   * taken while the directory is open: by name relative to it ({@code fstatat} on the listing's descriptor,
   * not following a symbolic link), so the kernel looks up one name instead of walking the root's whole
   * path again for every file, and no path is built. The metric server's scans, which run at every scrape,
   * list this way.
   *
   * @throws NoSuchFileException when the root directory does not exist
   * @throws IOException when it cannot be listed (a file that cannot be stat'ed is a {@link Listed} with
   *     its failure instead)
   */
  public List<Listed> listStateFilesWithIdentities() throws IOException {
    List<Listed> out = new ArrayList<>();
    listings.incrementAndGet();
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(path)) {
      // The JDK gives a SecureDirectoryStream on Linux; another provider gets a stat by path.
      SecureDirectoryStream<Path> secure = dir instanceof SecureDirectoryStream<Path> s ? s : null;
      for (Path p : dir) {
        Path fileName = p.getFileName();
        Optional<StateFileName> name = StateFileName.parse(fileName.toString());
        if (name.isEmpty()) {
          continue;
        }
        FileIdentity identity = null;
        IOException failure = null;
        try {
          identity = secure == null
              ? FileIdentity.of(p)
              : FileIdentity.of(secure
                  .getFileAttributeView(fileName, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                  .readAttributes());
        } catch (IOException e) {
          failure = e;
        }
        out.add(new Listed(name.get(), identity, failure));
      }
    } catch (DirectoryIteratorException e) {
      throw e.getCause();
    }
    out.sort((a, b) -> a.name().compareTo(b.name()));
    return out;
  }

  /** How many times the directory was listed, for tests that check a scan lists it once. */
  public long listings() {
    return listings.get();
  }

  /** How many state files were opened for reading, for tests that check a scan reads each file once. */
  public long stateFileReads() {
    return stateFileReads.get();
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
   * @throws StateFileException when the file is unreadable, not a regular file, larger than
   *     {@link #MAX_STATE_FILE_BYTES} or not a valid state file
   * @throws DiscoveryException when its lock file cannot be opened or locked for a reason other than
   *     another holder (a symbolic link or not a regular file: not {@link DiscoveryException#retryable()})
   */
  public LoadResult<ContainerState> loadContainer(StateFileName name) throws DiscoveryException {
    return loadContainer(name, true);
  }

  private LoadResult<ContainerState> loadContainer(StateFileName name, boolean locking) throws DiscoveryException {
    Path lockFile = name.lockPath(path);
    Path stateFile = name.statePath(path);
    Flock lock = null;
    if (locking) {
      try {
        lock = Flock.tryLock(lockFile, false);
        if (lock == null) {
          return new LoadResult.Busy<>(lockFile);
        }
      } catch (NoSuchFileException e) {
        lock = null; // Not written by a locking runsc; see the class comment.
      } catch (UnsafeFileException e) {
        throw new DiscoveryException(
            "lock file " + lockFile + " " + e.getReason() + "; not reading " + stateFile, e, false);
      } catch (IOException e) {
        throw new DiscoveryException(
            "cannot lock " + lockFile + " to read " + stateFile + ": " + describe(e), e, true);
      }
    }
    try {
      FileIdentity identity;
      byte[] bytes;
      stateFileReads.incrementAndGet();
      try (RegularFile file = RegularFile.open(stateFile)) {
        identity = FileIdentity.of(file.attributes());
        bytes = file.readAll(MAX_STATE_FILE_BYTES);
      } catch (NoSuchFileException e) {
        return new LoadResult.Missing<>("container " + name.containerId() + " of sandbox " + name.sandboxId());
      } catch (UnsafeFileException e) {
        throw new StateFileException(stateFile, e.getReason(), e, false);
      } catch (IOException e) {
        throw new StateFileException(stateFile, "cannot be read: " + describe(e), e, true);
      }
      return new LoadResult.Loaded<>(StateFileParser.parse(name, stateFile, identity, bytes));
    } finally {
      if (lock != null) {
        lock.close();
      }
    }
  }

  private static String describe(IOException e) {
    return e instanceof ErrnoException errno ? errno.getReason() : e.toString();
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
      throw new DiscoveryException("cannot list root directory " + path + ": " + e, e, true);
    }
    return loadSandbox(sandboxId, names);
  }

  /**
   * Loads a sandbox from the state files a listing found for it, without listing the directory again: a
   * scan lists once and loads every new sandbox from that one listing.
   *
   * @param names the state files of {@code sandboxId}, from {@link #listStateFiles()}
   */
  public LoadResult<SandboxInfo> loadSandbox(String sandboxId, Collection<StateFileName> names) throws DiscoveryException {
    return loadSandbox(sandboxId, names, true);
  }

  /**
   * Reads a sandbox's state files without taking their locks, for a sandbox whose lock has been held for
   * too long: what it says may be half-written (then this throws), but when it parses it names the sandbox
   * well enough to show it as present and not running. Never {@link LoadResult.Busy}.
   */
  public LoadResult<SandboxInfo> peekSandbox(String sandboxId, Collection<StateFileName> names) throws DiscoveryException {
    return loadSandbox(sandboxId, names, false);
  }

  private LoadResult<SandboxInfo> loadSandbox(String sandboxId, Collection<StateFileName> names, boolean locking)
      throws DiscoveryException {
    List<ContainerState> containers = new ArrayList<>();
    for (StateFileName n : names) {
      LoadResult<ContainerState> r = loadContainer(n, locking);
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
