package dev.sandboxmetrics.metricserver.registry;

import dev.sandboxmetrics.metricserver.discovery.DiscoveryException;
import dev.sandboxmetrics.metricserver.discovery.FileIdentity;
import dev.sandboxmetrics.metricserver.discovery.LoadResult;
import dev.sandboxmetrics.metricserver.discovery.RootDirectory;
import dev.sandboxmetrics.metricserver.discovery.SandboxInfo;
import dev.sandboxmetrics.metricserver.discovery.StateFileName;
import dev.sandboxmetrics.snapshot.verify.InvalidRegistrationException;
import dev.sandboxmetrics.snapshot.verify.Verifier;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
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
 * <p>Found and lost sandboxes are logged at info level, once. Thread-safe: scans are serialized.
 */
public final class SandboxRegistry {
  private static final Logger log = LoggerFactory.getLogger(SandboxRegistry.class);

  private final RootDirectory root;
  private final String rootDir;
  private final String address;
  private final boolean allowUnknownRoot;

  /** Served sandboxes by ID, with the identities of their state files when last loaded. */
  private final Map<String, Entry> served = new TreeMap<>();
  /** State files looked at and not served, by sandbox ID: not read again until they change. */
  private final Map<String, Map<StateFileName, FileIdentity>> ignored = new HashMap<>();

  private long totalRegistered;
  private String lastListingError;

  // The last sandbox's metadata, for the next one to share when equal (see facts()).
  private Map<String, String> lastMetricMetadata;
  private Map<String, String> lastSpecMetadata;
  private List<String> lastCapabilities;

  private record Entry(ServedSandbox sandbox, Map<StateFileName, FileIdentity> files) {}

  /** Thrown when the root directory cannot be listed (gone, or no permission). */
  public static final class RootDirectoryException extends IOException {
    private static final long serialVersionUID = 1L;

    RootDirectoryException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * @param rootDir the {@code --root} string as given: it replaces {@code %RUNTIME_ROOT%} in the addresses
   *     sandboxes recorded, exactly as runsc does
   * @param address this server's {@code --metric-server} address (after its own replacement)
   * @param allowUnknownRoot whether a root directory that cannot be listed is expected (then not logged as a
   *     problem)
   */
  public SandboxRegistry(RootDirectory root, String rootDir, String address, boolean allowUnknownRoot) {
    this.root = root;
    this.rootDir = rootDir;
    this.address = address;
    this.allowUnknownRoot = allowUnknownRoot;
  }

  /**
   * Rescans and returns the served sandboxes, sorted by sandbox ID. When the root directory cannot be listed,
   * the sandboxes known so far that still run are returned (and the problem logged once).
   */
  public synchronized List<ServedSandbox> refresh() {
    try {
      return scan();
    } catch (RootDirectoryException e) {
      if (allowUnknownRoot) {
        log.debug("{} (expected with --allow-unknown-root)", e.getMessage());
      } else if (!Objects.equals(lastListingError, e.getMessage())) {
        log.warn("{}; serving the sandboxes known so far.", e.getMessage());
        lastListingError = e.getMessage();
      }
      dropStopped();
      return current();
    }
  }

  /**
   * Rescans, failing when the root directory cannot be listed: the periodic scan uses this to notice that
   * the root directory went away.
   */
  public synchronized List<ServedSandbox> scan() throws RootDirectoryException {
    Map<String, Map<StateFileName, FileIdentity>> listing = list();
    lastListingError = null;

    // Sandboxes we serve: gone, changed, stopped?
    for (Iterator<Map.Entry<String, Entry>> it = served.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Entry> e = it.next();
      String id = e.getKey();
      Entry entry = e.getValue();
      Map<StateFileName, FileIdentity> files = listing.get(id);
      if (files == null) {
        log.info("Sandbox {} is gone (no state file left); no longer serving it.", entry.sandbox());
        it.remove();
        continue;
      }
      if (!files.equals(entry.files())) {
        Entry reloaded = reload(entry, files);
        if (reloaded == null) {
          it.remove();
          continue;
        }
        e.setValue(reloaded);
        entry = reloaded;
      }
      if (!entry.sandbox().isRunning()) {
        log.info("Sandbox {} is no longer running; no longer serving it.", entry.sandbox());
        ignored.put(id, entry.files());
        it.remove();
      }
    }

    // Forget what we ignored once its files are gone.
    ignored.keySet().retainAll(listing.keySet());

    // New sandboxes.
    for (Map.Entry<String, Map<StateFileName, FileIdentity>> e : listing.entrySet()) {
      String id = e.getKey();
      if (served.containsKey(id) || e.getValue().equals(ignored.get(id))) {
        continue;
      }
      ignored.remove(id);
      SandboxInfo info = load(id, e.getValue());
      if (info == null) {
        continue;
      }
      ServedSandbox sandbox = newIncarnation(info);
      totalRegistered++;
      served.put(id, new Entry(sandbox, identities(info, e.getValue())));
      log.info("Serving metrics of sandbox {} found in root directory {}.", sandbox, rootDir);
    }
    return current();
  }

  /** Sandboxes ever registered with this server (each incarnation counts): {@code num_sandboxes_total}. */
  public synchronized long totalRegistered() {
    return totalRegistered;
  }

  /** The served sandboxes right now, sorted by ID, without rescanning. */
  public synchronized List<ServedSandbox> current() {
    List<ServedSandbox> out = new ArrayList<>(served.size());
    for (Entry e : served.values()) {
      out.add(e.sandbox());
    }
    return out;
  }

  /** Lists state files and stats them, grouped by sandbox ID. */
  private Map<String, Map<StateFileName, FileIdentity>> list() throws RootDirectoryException {
    List<StateFileName> names;
    try {
      names = root.listStateFiles();
    } catch (NoSuchFileException e) {
      throw new RootDirectoryException("root directory " + rootDir + " does not exist any more", e);
    } catch (IOException e) {
      throw new RootDirectoryException("cannot list root directory " + rootDir + ": " + e, e);
    }
    Map<String, Map<StateFileName, FileIdentity>> bySandbox = new LinkedHashMap<>();
    for (StateFileName name : names) {
      FileIdentity identity;
      try {
        identity = root.stat(name);
      } catch (NoSuchFileException e) {
        continue; // Deleted since the listing.
      } catch (IOException e) {
        log.debug("Cannot stat state file {}: {}", name, e.toString());
        continue;
      }
      bySandbox.computeIfAbsent(name.sandboxId(), k -> new LinkedHashMap<>()).put(name, identity);
    }
    return bySandbox;
  }

  /**
   * Loads a sandbox not served yet and decides whether to serve it; null when not (and then its files are
   * remembered unless it was merely busy).
   */
  private SandboxInfo load(String id, Map<StateFileName, FileIdentity> files) {
    LoadResult<SandboxInfo> result;
    try {
      result = root.loadSandbox(id);
    } catch (DiscoveryException e) {
      log.warn("Cannot load sandbox {}, ignoring it until its state files change: {}", id, e.getMessage());
      ignored.put(id, files);
      return null;
    }
    if (result instanceof LoadResult.Busy<SandboxInfo>) {
      log.debug("Sandbox {} is being created or changed (state file locked); looking again at the next scan.", id);
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
      ignored.put(id, identities(info, files));
      return null;
    }
    return info;
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
  private Entry reload(Entry entry, Map<StateFileName, FileIdentity> files) {
    ServedSandbox old = entry.sandbox();
    LoadResult<SandboxInfo> result;
    try {
      result = root.loadSandbox(old.id());
    } catch (DiscoveryException e) {
      log.warn("Sandbox {} cannot be loaded any more; no longer serving it: {}", old, e.getMessage());
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

  private void dropStopped() {
    served.values().removeIf(e -> {
      if (e.sandbox().isRunning()) {
        return false;
      }
      log.info("Sandbox {} is no longer running; no longer serving it.", e.sandbox());
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
