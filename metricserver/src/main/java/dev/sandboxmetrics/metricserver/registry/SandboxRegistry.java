package dev.sandboxmetrics.metricserver.registry;

import dev.sandboxmetrics.runsc.discovery.DiscoveryException;
import dev.sandboxmetrics.runsc.discovery.FileIdentity;
import dev.sandboxmetrics.runsc.discovery.LoadResult;
import dev.sandboxmetrics.runsc.discovery.RootDirectory;
import dev.sandboxmetrics.runsc.discovery.SandboxInfo;
import dev.sandboxmetrics.runsc.discovery.StateFileName;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.verify.InvalidRegistrationException;
import dev.sandboxmetrics.snapshot.verify.Verifier;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sandboxes this metric server serves, kept up to date by rescanning the root directory (docs/runsc-protocol.md
 * sections 2 and 9): at every /metrics request and every 20 s. A sandbox is served when its root container's
 * recorded metric-server address is ours, it registered metrics, and its process runs. It is dropped when its
 * state files are gone, can no longer be loaded, or its process stopped.
 *
 * <p>Scans are cheap when nothing changed: a state file is only read when its stat identity (mtime, size,
 * device, inode) differs from the last scan. State files that were looked at and not taken (another server's
 * sandbox, no metrics, a leftover of a killed sandbox, a corrupt file) are remembered by their identity and
 * not read again until they change. A locked state file is skipped without a word: runsc is writing it.
 *
 * <p>One listing per scan: new sandboxes are loaded from the names it found, so a scan reads each new state
 * file once however many appear at once. Files that cannot be read are summed up in one log line per scan
 * ("N state files could not be read") naming the first few; as they are remembered, each is reported once
 * until it changes. A failure that says nothing about the file (out of file descriptors) is retried at the
 * next scan instead, and never drops a sandbox that is being served.
 *
 * <p>A new sandbox whose lock stays held longer than the per-sandbox deadline (a runsc that hangs while
 * creating it) is shown as present and not running, with the reason, rather than not at all: see
 * {@link ServedSandbox#notReadyReason()}.
 *
 * <p>Nothing that goes wrong with one sandbox's files, not even an {@link Error} from parsing them, ends a
 * scan or costs other sandboxes. Only the root directory itself going away ({@code ENOENT}, {@code ENOTDIR})
 * is {@link RootDirectoryException#gone()}; any other failure to list it is passing.
 *
 * <p>Found and lost sandboxes are logged at info level, once. Thread-safe: scans are serialized.
 */
public final class SandboxRegistry {
  private static final Logger log = LoggerFactory.getLogger(SandboxRegistry.class);

  private final RootDirectory root;
  private final String rootDir;
  private final String address;
  private final boolean allowUnknownRoot;
  private final Duration lockedDeadline;
  private final LongSupplier nanoClock;
  private final ScanObserver observer;

  /** Served sandboxes by ID, with the identities of their state files when last loaded. */
  private final Map<String, Entry> served = new TreeMap<>();
  /** State files looked at and not served, by sandbox ID: not read again until they change. */
  private final Map<String, Map<StateFileName, FileIdentity>> ignored = new HashMap<>();
  /** New sandboxes found locked, by ID: since when, and what is shown once past the deadline. */
  private final Map<String, Locked> locked = new HashMap<>();

  private long totalRegistered;
  /** {@link #nanoClock} when the last scan that could list the root directory listed it. */
  private volatile long listedAt;
  private String lastListingError;

  // The last sandbox's metadata, for the next one to share when equal (see facts()).
  private Map<String, String> lastMetricMetadata;
  private Consumer<List<ServedSandbox>> servedListener = l -> {};
  private Map<String, String> lastSpecMetadata;
  private List<String> lastCapabilities;

  private record Entry(ServedSandbox sandbox, Map<StateFileName, FileIdentity> files) {}

  /**
   * A new sandbox whose lock was held at every look since {@code sinceNanos}: {@code shown} once past the
   * deadline; {@code notOurs} when its state file, read without the lock, names another server (not read
   * again until it changes).
   */
  private record Locked(long sinceNanos, Path lockFile, ServedSandbox shown, Map<StateFileName, FileIdentity> notOurs) {}

  /** One scan's listing: state files by sandbox, and sandboxes some of whose files could not be stat'ed. */
  private record Listing(Map<String, Map<StateFileName, FileIdentity>> bySandbox, Set<String> unsure) {}

  /**
   * Thrown when the root directory cannot be listed: {@link #gone()} when it no longer exists (or is no
   * longer a directory), otherwise a passing or permission problem (e.g. out of file descriptors).
   */
  public static final class RootDirectoryException extends IOException {
    private static final long serialVersionUID = 1L;

    private final boolean gone;

    RootDirectoryException(String message, Throwable cause, boolean gone) {
      super(message, cause);
      this.gone = gone;
    }

    /** True only when the directory itself does not exist or is not a directory any more (ENOENT, ENOTDIR). */
    public boolean gone() {
      return gone;
    }
  }

  /** The deadline for a lock to be released before a new sandbox is shown as not running: runsc's 8 s. */
  public static final Duration DEFAULT_LOCKED_DEADLINE = Duration.ofSeconds(8);

  /**
   * @param rootDir the {@code --root} string as given: it replaces {@code %RUNTIME_ROOT%} in the addresses
   *     sandboxes recorded, exactly as runsc does
   * @param address this server's {@code --metric-server} address (after its own replacement)
   * @param allowUnknownRoot whether a root directory that cannot be listed is expected (then not logged as a
   *     problem)
   */
  public SandboxRegistry(RootDirectory root, String rootDir, String address, boolean allowUnknownRoot) {
    this(root, rootDir, address, allowUnknownRoot, DEFAULT_LOCKED_DEADLINE, ScanObserver.NONE);
  }

  /**
   * @param lockedDeadline how long a new sandbox's lock may stay held before it is shown as present and not
   *     running (the metric server passes its per-sandbox timeout)
   * @param observer told what each scan found besides the served sandboxes (for the status page)
   */
  public SandboxRegistry(
      RootDirectory root,
      String rootDir,
      String address,
      boolean allowUnknownRoot,
      Duration lockedDeadline,
      ScanObserver observer) {
    this(root, rootDir, address, allowUnknownRoot, lockedDeadline, observer, System::nanoTime);
  }

  SandboxRegistry(
      RootDirectory root,
      String rootDir,
      String address,
      boolean allowUnknownRoot,
      Duration lockedDeadline,
      LongSupplier nanoClock) {
    this(root, rootDir, address, allowUnknownRoot, lockedDeadline, ScanObserver.NONE, nanoClock);
  }

  private SandboxRegistry(
      RootDirectory root,
      String rootDir,
      String address,
      boolean allowUnknownRoot,
      Duration lockedDeadline,
      ScanObserver observer,
      LongSupplier nanoClock) {
    this.observer = observer;
    this.root = root;
    this.rootDir = rootDir;
    this.address = address;
    this.allowUnknownRoot = allowUnknownRoot;
    this.lockedDeadline = lockedDeadline;
    this.nanoClock = nanoClock;
    this.listedAt = nanoClock.getAsLong();
  }

  /**
   * Tells {@code listener} the served sandboxes after every scan (on the scanning thread, under the
   * registry's lock: it must be quick and must not call back). The metric server closes the control
   * connections it keeps for sandboxes that are no longer served.
   */
  public synchronized void onServed(Consumer<List<ServedSandbox>> listener) {
    this.servedListener = Objects.requireNonNull(listener);
  }

  private List<ServedSandbox> told(List<ServedSandbox> now) {
    try {
      servedListener.accept(now);
    } catch (RuntimeException e) {
      log.warn("Handling the served sandboxes after a scan failed", e);
    }
    return now;
  }

  /**
   * Rescans and returns the served sandboxes, sorted by sandbox ID. When the root directory cannot be listed,
   * the sandboxes known so far that still run are returned (and the problem logged once).
   */
  public synchronized List<ServedSandbox> refresh() {
    try {
      return scan();
    } catch (RuntimeException | Error e) {
      // A bug or a shortage (OutOfMemoryError): this scan is lost, the server and the next scan are not.
      log.error("Scan of root directory {} failed; serving the sandboxes known so far: {}", rootDir, e.toString(), e);
      return current();
    } catch (RootDirectoryException e) {
      listingFailed(e);
      return current();
    }
  }

  /**
   * Records that the root directory could not be listed: logged once per distinct reason; the sandboxes
   * known so far stay served except those that stopped.
   */
  public synchronized void listingFailed(RootDirectoryException e) {
    if (allowUnknownRoot) {
      log.debug("{} (expected with --allow-unknown-root)", e.getMessage());
    } else if (!Objects.equals(lastListingError, e.getMessage())) {
      log.warn("{}; serving the sandboxes known so far.", e.getMessage());
      lastListingError = e.getMessage();
    }
    dropStopped();
    told(current());
  }

  /**
   * Rescans, failing when the root directory cannot be listed: the periodic scan uses this to notice that
   * the root directory went away.
   */
  public synchronized List<ServedSandbox> scan() throws RootDirectoryException {
    Listing scanListing = list();
    listedAt = nanoClock.getAsLong();
    Map<String, Map<StateFileName, FileIdentity>> listing = scanListing.bySandbox();
    if (lastListingError != null) {
      log.info("Root directory {} can be listed again.", rootDir);
      lastListingError = null;
    }
    Problems problems = new Problems();
    observer.listed(listing.keySet());

    // Sandboxes we serve: gone, changed, stopped?
    for (Iterator<Map.Entry<String, Entry>> it = served.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Entry> e = it.next();
      String id = e.getKey();
      Entry entry = e.getValue();
      Map<StateFileName, FileIdentity> files = listing.get(id);
      if (files == null && !scanListing.unsure().contains(id)) {
        log.info("Sandbox {} is gone (no state file left); no longer serving it.", entry.sandbox());
        it.remove();
        continue;
      }
      if (files != null && !scanListing.unsure().contains(id) && !files.equals(entry.files())) {
        Entry reloaded;
        try {
          reloaded = reload(entry, files, listing.get(id).keySet());
        } catch (RuntimeException | Error failure) {
          problems.add(id, "internal error while reading its state files: " + failure, failure);
          reloaded = entry; // Keep what we know; the next scan looks again.
        }
        if (reloaded == null) {
          it.remove();
          continue;
        }
        e.setValue(reloaded);
        entry = reloaded;
      }
      if (!entry.sandbox().isRunning()) {
        log.info("Sandbox {} is no longer running; no longer serving it.", entry.sandbox());
        observer.stopped(entry.sandbox());
        ignored.put(id, entry.files());
        it.remove();
      }
    }

    // Forget what we ignored once its files are gone.
    ignored.keySet().retainAll(listing.keySet());
    for (Iterator<Map.Entry<String, Locked>> it = locked.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Locked> e = it.next();
      if (!listing.containsKey(e.getKey()) && !scanListing.unsure().contains(e.getKey())) {
        if (e.getValue().shown() != null) {
          log.info("Sandbox {}, whose state file was locked, is gone.", e.getKey());
        }
        it.remove();
      }
    }

    // New sandboxes, all loaded from this one listing.
    for (Map.Entry<String, Map<StateFileName, FileIdentity>> e : listing.entrySet()) {
      String id = e.getKey();
      if (served.containsKey(id) || scanListing.unsure().contains(id) || e.getValue().equals(ignored.get(id))) {
        continue;
      }
      ignored.remove(id);
      SandboxInfo info;
      try {
        info = load(id, e.getValue(), problems);
      } catch (RuntimeException | Error failure) {
        // A parser bug or a state file built to exhaust it: report once, and unless it was a shortage of
        // memory (which may pass), do not read these files again until they change.
        problems.add(id, "internal error while reading its state files: " + failure, failure);
        if (!(failure instanceof OutOfMemoryError)) {
          ignored.put(id, e.getValue());
        }
        locked.remove(id);
        continue;
      }
      if (info == null) {
        continue;
      }
      Locked wasLocked = locked.remove(id);
      if (wasLocked != null && wasLocked.shown() != null) {
        log.info("Sandbox {}: its state file can be read again.", id);
      }
      ServedSandbox sandbox = newIncarnation(info);
      totalRegistered++;
      served.put(id, new Entry(sandbox, identities(info, e.getValue())));
      log.info("Serving metrics of sandbox {} found in root directory {}.", sandbox, rootDir);
    }
    problems.log();
    return told(current());
  }

  /**
   * Nanoseconds since a scan last listed the root directory (a scan that could not list it does not count),
   * or since this registry was made when none has yet.
   */
  public long nanosSinceListed() {
    return nanoClock.getAsLong() - listedAt;
  }

  /** Sandboxes ever registered with this server (each incarnation counts): {@code num_sandboxes_total}. */
  public synchronized long totalRegistered() {
    return totalRegistered;
  }

  /**
   * The served sandboxes right now, sorted by ID, without rescanning; with them, sandboxes whose lock has
   * been held past the deadline, which are not running and say why ({@link ServedSandbox#notReadyReason()}).
   */
  public synchronized List<ServedSandbox> current() {
    List<ServedSandbox> out = new ArrayList<>(served.size());
    for (Entry e : served.values()) {
      out.add(e.sandbox());
    }
    boolean anyLocked = false;
    for (Locked l : locked.values()) {
      if (l.shown() != null) {
        out.add(l.shown());
        anyLocked = true;
      }
    }
    if (anyLocked) {
      out.sort((a, b) -> a.id().compareTo(b.id()));
    }
    return out;
  }

  /**
   * Lists state files and stats them (without following links), grouped by sandbox ID. A sandbox with a
   * file that cannot be stat'ed for a reason other than its deletion is "unsure": left as it is this scan.
   */
  private Listing list() throws RootDirectoryException {
    List<RootDirectory.Listed> files;
    try {
      files = root.listStateFilesWithIdentities();
    } catch (NoSuchFileException e) {
      throw new RootDirectoryException("root directory " + rootDir + " does not exist any more", e, true);
    } catch (NotDirectoryException e) {
      throw new RootDirectoryException("root directory " + rootDir + " is not a directory any more", e, true);
    } catch (IOException e) {
      throw new RootDirectoryException("cannot list root directory " + rootDir + ": " + e, e, false);
    }
    Map<String, Map<StateFileName, FileIdentity>> bySandbox = new LinkedHashMap<>();
    Set<String> unsure = new HashSet<>();
    for (RootDirectory.Listed file : files) {
      StateFileName name = file.name();
      if (file.statFailure() instanceof NoSuchFileException) {
        continue; // Deleted since the listing.
      }
      if (file.statFailure() != null) {
        log.debug("Cannot stat state file {}: {}", name, file.statFailure().toString());
        unsure.add(name.sandboxId());
        continue;
      }
      Map<StateFileName, FileIdentity> ofSandbox = bySandbox.get(name.sandboxId());
      if (ofSandbox == null) {
        ofSandbox = new LinkedHashMap<>();
        bySandbox.put(name.sandboxId(), ofSandbox);
      }
      ofSandbox.put(name, file.identity());
    }
    return new Listing(bySandbox, unsure);
  }

  /**
   * Loads a sandbox not served yet and decides whether to serve it; null when not (and then its files are
   * remembered unless it was merely busy).
   */
  private SandboxInfo load(String id, Map<StateFileName, FileIdentity> files, Problems problems) {
    LoadResult<SandboxInfo> result;
    try {
      result = root.loadSandbox(id, files.keySet());
    } catch (DiscoveryException e) {
      problems.add(id, e.getMessage(), null);
      observer.unreadable(id, e.getMessage());
      if (!e.retryable()) {
        ignored.put(id, files);
      }
      locked.remove(id);
      return null;
    }
    if (result instanceof LoadResult.Busy<SandboxInfo> busy) {
      observer.locked(id);
      lockedTooLong(id, files, busy.lockFile());
      return null;
    }
    if (!(result instanceof LoadResult.Loaded<SandboxInfo> loaded)) {
      return null;
    }
    SandboxInfo info = loaded.value();
    String why = whyNotServed(info);
    if (why != null) {
      if (why.startsWith("!")) {
        log.warn("Not serving sandbox {}: {}", id, why.substring(1));
      } else {
        log.debug("Not serving sandbox {}: {}", id, why);
      }
      observer.notServed(id, info, why.startsWith("!") ? why.substring(1) : why);
      ignored.put(id, identities(info, files));
      locked.remove(id);
      return null;
    }
    return info;
  }

  /**
   * A new sandbox's state file is locked: normal while runsc creates it, but a lock still held after the
   * deadline (a runsc that hangs) makes the sandbox visible as present and not running, with the reason,
   * named as well as its state file tells without the lock. One that turns out to want another server, or
   * no metrics, stays invisible.
   */
  private void lockedTooLong(String id, Map<StateFileName, FileIdentity> files, Path lockFile) {
    long now = nanoClock.getAsLong();
    Locked l = locked.get(id);
    if (l == null) {
      log.debug("Sandbox {} is being created or changed (state file locked); looking again at the next scan.", id);
      locked.put(id, new Locked(now, lockFile, null, null));
      return;
    }
    if (l.shown() != null || now - l.sinceNanos() < lockedDeadline.toNanos() || files.equals(l.notOurs())) {
      return;
    }
    String reason = "its lock file " + lockFile + " has been held for more than "
        + (lockedDeadline.toMillis() % 1000 == 0 ? lockedDeadline.toSeconds() + " s" : lockedDeadline.toMillis() + " ms")
        + " (runsc may hang while creating or changing it), so its state file cannot be read";
    Labels labels = Labels.of("sandbox", id, "iteration", "");
    Instant createdAt = Instant.EPOCH;
    Path socket = root.path().resolve("runsc-" + id + ".sock");
    try {
      if (root.peekSandbox(id, files.keySet()) instanceof LoadResult.Loaded<SandboxInfo> peeked) {
        SandboxInfo info = peeked.value();
        if (!info.wantsServer(address, rootDir) || info.registration() == null) {
          log.debug("Sandbox {} is locked and, as far as its state file says, not ours to serve.", id);
          locked.put(id, new Locked(l.sinceNanos(), lockFile, null, files));
          return;
        }
        labels = info.labels();
        createdAt = info.createdAt();
        socket = info.controlSocketPath();
      }
    } catch (DiscoveryException | RuntimeException e) {
      // Half-written while locked: show what the name says.
    }
    ServedSandbox.Facts facts = new ServedSandbox.Facts(
        id, createdAt, labels.get("iteration") == null ? "" : labels.get("iteration"), labels, socket, 0, false,
        false, Duration.ZERO, Duration.ZERO, Map.of(), List.of(), Map.of());
    ServedSandbox shown = ServedSandbox.notReady(facts, reason);
    log.warn("Sandbox {}: {}; showing it as present and not running until it can be read.", id, reason);
    locked.put(id, new Locked(l.sinceNanos(), lockFile, shown, null));
  }

  /** Null when the sandbox is ours to serve; otherwise why not ("!" first: worth a warning). */
  private String whyNotServed(SandboxInfo info) {
    if (info.metricServerAddress().isEmpty()) {
      return "it did not ask for a metric server";
    }
    if (!info.wantsServer(address, rootDir)) {
      return "it wants the metric server at \"" + info.resolvedMetricServerAddress(rootDir)
          + "\", this one serves \"" + address + "\"";
    }
    if (info.registration() == null) {
      return "!it names this metric server but registered no metrics";
    }
    if (info.isLeftoverOfKilledSandbox()) {
      return "!its state file says running, yet its process " + info.pid() + " is gone (a leftover of a killed sandbox)";
    }
    if (!info.isRunning()) {
      return "it is not running (status " + info.status() + ", pid " + info.pid() + ")";
    }
    return null;
  }

  /**
   * Reloads a served sandbox whose state files changed. Returns the entry to keep (possibly a new
   * incarnation), or null to stop serving it.
   */
  private Entry reload(Entry entry, Map<StateFileName, FileIdentity> files, Set<StateFileName> names) {
    ServedSandbox old = entry.sandbox();
    LoadResult<SandboxInfo> result;
    try {
      result = root.loadSandbox(old.id(), names);
    } catch (DiscoveryException e) {
      if (e.retryable()) {
        log.debug("Sandbox {}: cannot read its changed state files now, looking again at the next scan: {}", old, e.getMessage());
        return entry;
      }
      log.warn("Sandbox {} cannot be loaded any more; no longer serving it: {}", old, e.getMessage());
      observer.unreadable(old.id(), e.getMessage());
      ignored.put(old.id(), files);
      return null;
    }
    if (result instanceof LoadResult.Busy<SandboxInfo>) {
      return entry; // Being changed: keep what we know, look again next time.
    }
    if (!(result instanceof LoadResult.Loaded<SandboxInfo> loaded)) {
      log.info("Sandbox {} is gone (state files removed); no longer serving it.", old);
      return null;
    }
    SandboxInfo info = loaded.value();
    String why = whyNotServed(info);
    if (why != null) {
      log.info("No longer serving sandbox {}: {}", old, why.startsWith("!") ? why.substring(1) : why);
      observer.notServed(old.id(), info, why.startsWith("!") ? why.substring(1) : why);
      ignored.put(old.id(), identities(info, files));
      return null;
    }
    if (!info.createdAt().equals(old.facts().createdAt())) {
      ServedSandbox fresh = newIncarnation(info);
      totalRegistered++;
      log.info("Sandbox {} was re-created; serving its new incarnation {}.", old, fresh);
      return new Entry(fresh, identities(info, files));
    }
    return new Entry(new ServedSandbox(facts(info), old.incarnation()), identities(info, files));
  }

  /**
   * One scan's sandboxes whose state files could not be read, logged as one line at the end of the scan
   * naming the first few, so that thousands of bad files make one line, not thousands.
   */
  private static final class Problems {
    private static final int NAMED = 3;
    private static final int MAX_CHARS = 300;
    private final List<String> first = new ArrayList<>(NAMED);
    private int count;
    private Throwable firstFailure;

    void add(String sandboxId, String message, Throwable failure) {
      count++;
      if (first.size() < NAMED) {
        String text = message == null ? "sandbox " + sandboxId : message;
        first.add(text.length() > MAX_CHARS ? text.substring(0, MAX_CHARS) + "..." : text);
      }
      if (failure != null && firstFailure == null) {
        firstFailure = failure;
      }
    }

    void log() {
      if (count == 0) {
        return;
      }
      log.warn(
          "{} state file{} could not be read (each is reported once, until it changes): {}{}",
          count,
          count == 1 ? "" : "s",
          String.join("; ", first),
          count > first.size() ? "; ..." : "");
      if (firstFailure != null) {
        log.warn("The first internal error while reading state files:", firstFailure);
      }
    }
  }

  private void dropStopped() {
    served.values().removeIf(e -> {
      if (e.sandbox().isRunning()) {
        return false;
      }
      log.info("Sandbox {} is no longer running; no longer serving it.", e.sandbox());
      observer.stopped(e.sandbox());
      return true;
    });
  }

  private ServedSandbox newIncarnation(SandboxInfo info) {
    Verifier verifier = null;
    String error = null;
    try {
      verifier = Verifier.forRegistration(info.registration());
    } catch (InvalidRegistrationException e) {
      error = e.getMessage();
      log.warn("Sandbox {} registered invalid metrics; it will be reported as broken: {}", info.sandboxId(), error);
    }
    return new ServedSandbox(facts(info), new ServedSandbox.Incarnation(verifier, error));
  }

  /**
   * The facts to serve a sandbox with. The metadata maps and capability list are the same for every sandbox
   * of a node that runs one runsc with one configuration, so a sandbox reuses the instances of the previous
   * one when they are equal, rather than keep its own copy of each string for as long as it is served.
   */
  private ServedSandbox.Facts facts(SandboxInfo info) {
    Map<String, String> metricMetadata = info.metricMetadata();
    if (metricMetadata.equals(lastMetricMetadata)) {
      metricMetadata = lastMetricMetadata;
    } else {
      lastMetricMetadata = metricMetadata;
    }
    Map<String, String> specMetadata = info.specMetadata().labels();
    if (specMetadata.equals(lastSpecMetadata)) {
      specMetadata = lastSpecMetadata;
    } else {
      lastSpecMetadata = specMetadata;
    }
    List<String> capabilities = info.capabilities();
    if (capabilities.equals(lastCapabilities)) {
      capabilities = lastCapabilities;
    } else {
      lastCapabilities = capabilities;
    }
    return new ServedSandbox.Facts(
        info.sandboxId(),
        info.createdAt(),
        info.iteration(),
        info.labels(),
        info.controlSocketPath(),
        info.pid(),
        info.checkpointed(),
        info.restored(),
        info.cpuTimeSaved(),
        info.wallTimeSaved(),
        metricMetadata,
        capabilities,
        specMetadata);
  }

  /**
   * The identities to remember: those read at load time (what we actually looked at), for the files of the
   * listing. If a file changed between listing and loading, the next scan sees a difference and looks again.
   */
  private static Map<StateFileName, FileIdentity> identities(SandboxInfo info, Map<StateFileName, FileIdentity> listed) {
    Map<StateFileName, FileIdentity> loaded = info.stateFileIdentities();
    Map<StateFileName, FileIdentity> out = new LinkedHashMap<>();
    for (Map.Entry<StateFileName, FileIdentity> e : listed.entrySet()) {
      out.put(e.getKey(), loaded.getOrDefault(e.getKey(), e.getValue()));
    }
    return out;
  }
}
