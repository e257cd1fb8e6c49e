package dev.sandboxmetrics.runsc.discovery;

import dev.sandboxmetrics.posix.Processes;
import dev.sandboxmetrics.snapshot.Labels;
import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.json.RunscJson;
import dev.sandboxmetrics.snapshot.json.RunscJsonException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Everything the state files say about one sandbox, with the values derived from them the way runsc derives
 * them: the labels ({@code sandbox}, {@code iteration}, {@code pod_name}, {@code namespace_name}), the
 * capabilities union, the spec metadata, the control socket to call and whether the sandbox wants a given
 * metric server. Loaded by {@link RootDirectory#loadSandbox}; used by {@code export-metrics} and the metric
 * server. Immutable; a snapshot of the files at load time (liveness is checked when asked).
 */
public final class SandboxInfo {
  /** Replaced by the root directory in a sandbox's recorded metric-server address. */
  public static final String RUNTIME_ROOT_PLACEHOLDER = "%RUNTIME_ROOT%";

  private final Path root;
  private final ContainerState rootContainer;
  private final List<ContainerState> containers;
  private final ContainerState.SandboxRecord record;
  private final Registration registration;
  private final String iteration;
  private final Labels labels;
  private final List<String> capabilities;
  private final SpecMetadata specMetadata;

  private SandboxInfo(Path root, ContainerState rootContainer, List<ContainerState> containers,
      Registration registration) {
    this.root = root;
    this.rootContainer = rootContainer;
    this.containers = List.copyOf(containers);
    this.record = rootContainer.sandbox();
    this.registration = registration;
    this.iteration = IterationId.of(sandboxId(), rootContainer.createdAt());
    Map<String, String> l = new LinkedHashMap<>();
    l.put("sandbox", sandboxId());
    l.put("iteration", iteration);
    if (!record.podName().isEmpty()) {
      l.put("pod_name", record.podName());
    }
    if (!record.namespace().isEmpty()) {
      l.put("namespace_name", record.namespace());
    }
    this.labels = Labels.of(l);
    List<String> caps = new ArrayList<>();
    for (String cap : LinuxCapabilities.ALL) {
      if (this.containers.stream().anyMatch(c -> c.spec().capabilities().inAnySet(cap))) {
        caps.add(cap);
      }
    }
    this.capabilities = List.copyOf(caps);
    this.specMetadata = SpecMetadata.of(this.containers);
  }

  /**
   * Groups the loaded containers of one sandbox and picks its root container.
   *
   * @param containers at least one, all of the same sandbox
   * @throws DiscoveryException when no container or more than one is the root, or the root container's
   *     state file has no sandbox record or an invalid registration
   */
  static SandboxInfo of(Path root, List<ContainerState> containers) throws DiscoveryException {
    String sid = containers.get(0).sandboxId();
    List<ContainerState> sorted = new ArrayList<>(containers);
    sorted.sort(Comparator.comparing(ContainerState::id));
    List<ContainerState> roots = sorted.stream().filter(ContainerState::isRootByAnnotation).toList();
    if (roots.size() > 1) {
      // Without CRI annotations (plain Docker, runsc run) every container looks like a root. runsc names
      // the root container after its sandbox, so that decides; only a real contradiction is an error.
      List<ContainerState> named = roots.stream().filter(c -> c.name().namesSandboxItself()).toList();
      if (named.size() != 1) {
        throw new DiscoveryException("sandbox " + sid + " has several root containers: "
            + roots.stream().map(ContainerState::id).collect(Collectors.joining(", ")));
      }
      roots = named;
    }
    if (roots.isEmpty()) {
      throw new DiscoveryException("sandbox " + sid + " has no root container (its containers "
          + sorted.stream().map(ContainerState::id).collect(Collectors.joining(", "))
          + " are all annotated as sub-containers)");
    }
    ContainerState rootContainer = roots.get(0);
    if (rootContainer.sandbox() == null) {
      throw new StateFileException(rootContainer.stateFile(), "has no sandbox record");
    }
    return new SandboxInfo(root, rootContainer, sorted, decodeRegistration(rootContainer));
  }

  private static Registration decodeRegistration(ContainerState rootContainer) throws StateFileException {
    byte[] json = rootContainer.sandbox().registeredMetricsJson();
    if (json == null) {
      return null;
    }
    try {
      return RunscJson.readRegistration(json, 0, json.length);
    } catch (RunscJsonException e) {
      throw new StateFileException(rootContainer.stateFile(),
          "sandbox.registeredMetrics: " + e.getMessage(), e);
    }
  }

  /** The sandbox ID (from the file names; the state files agree or loading failed). */
  public String sandboxId() {
    return rootContainer.sandboxId();
  }

  /** The root directory it was loaded from. */
  public Path rootDirectory() {
    return root;
  }

  public ContainerState rootContainer() {
    return rootContainer;
  }

  /** All containers of the sandbox, root included, sorted by container ID. */
  public List<ContainerState> containers() {
    return containers;
  }

  /** The root container's sandbox record. */
  public ContainerState.SandboxRecord record() {
    return record;
  }

  /** The root container's {@code createdAt}: what {@code iteration} hashes. */
  public Instant createdAt() {
    return rootContainer.createdAt();
  }

  /** The root container's status as recorded ({@code running}, {@code stopped}, ...). */
  public String status() {
    return rootContainer.status();
  }

  /** runsc's iteration ID, see {@link IterationId}. */
  public String iteration() {
    return iteration;
  }

  /** {@code sandbox}, {@code iteration}, and {@code pod_name} / {@code namespace_name} when non-empty. */
  public Labels labels() {
    return labels;
  }

  /** The sandbox process ID, 0 when the state file says it is not running. */
  public long pid() {
    return record.pid();
  }

  /** runsc's liveness check: a non-zero PID to which signal 0 can be sent. Checked anew on every call. */
  public boolean isRunning() {
    return Processes.isRunning(record.pid());
  }

  /**
   * A state file that says {@code running} for a process that is gone: what {@code kill -9} of a sandbox
   * leaves behind. A metric server ignores such a sandbox (and remembers its state file's identity).
   */
  public boolean isLeftoverOfKilledSandbox() {
    return "running".equals(status()) && !isRunning();
  }

  /**
   * The control socket to call, as runsc finds it: the recorded path when it exists, otherwise
   * {@code ROOT/runsc-<sandboxID>.sock} when that exists (the root directory may be mounted elsewhere
   * now), otherwise the recorded path (or the fallback when none is recorded), so that the failure to
   * connect names it. May be 108 bytes or longer; the control client copes.
   */
  public Path controlSocketPath() {
    List<Path> candidates = controlSocketCandidates();
    for (Path p : candidates) {
      if (Files.exists(p)) {
        return p;
      }
    }
    return candidates.get(0);
  }

  /** Where the control socket may be, in the order they are tried. */
  public List<Path> controlSocketCandidates() {
    Path fallback = root.resolve("runsc-" + sandboxId() + ".sock");
    String recorded = record.controlSocketPath();
    if (recorded.isEmpty()) {
      return List.of(fallback);
    }
    Path r = Path.of(recorded);
    return r.equals(fallback) ? List.of(r) : List.of(r, fallback);
  }

  /** The recorded metric-server address, before {@code %RUNTIME_ROOT%} replacement; "" when none. */
  public String metricServerAddress() {
    return record.metricServerAddress();
  }

  /** The recorded address with every {@code %RUNTIME_ROOT%} replaced by {@code rootDir}. */
  public String resolvedMetricServerAddress(String rootDir) {
    return record.metricServerAddress().replace(RUNTIME_ROOT_PLACEHOLDER, rootDir);
  }

  /**
   * True when this sandbox asked for the metric server at {@code address}: its recorded address, after
   * replacing {@code %RUNTIME_ROOT%} with {@code rootDir} (the {@code --root} string as given, as runsc
   * does), is exactly {@code address}. A sandbox that recorded no address wants no server.
   */
  public boolean wantsServer(String address, String rootDir) {
    String wanted = resolvedMetricServerAddress(rootDir);
    return !wanted.isEmpty() && wanted.equals(address);
  }

  /** The registration from the root container's state file; null when metrics were not requested. */
  public Registration registration() {
    return registration;
  }

  /** {@code metricMetadata} of the root container's record (version, platform, network, ...). */
  public Map<String, String> metricMetadata() {
    return record.metricMetadata();
  }

  public boolean checkpointed() {
    return record.checkpoint().checkpointed();
  }

  public boolean restored() {
    return record.checkpoint().restored();
  }

  public Duration cpuTimeSaved() {
    return record.checkpoint().cpuTimeSaved();
  }

  public Duration wallTimeSaved() {
    return record.checkpoint().wallTimeSaved();
  }

  /**
   * The capabilities ({@code CAP_CHOWN}, ...) found in any of the five sets of any container, in
   * capability-number order; names runsc does not know are left out, as runsc does.
   */
  public List<String> capabilities() {
    return capabilities;
  }

  public SpecMetadata specMetadata() {
    return specMetadata;
  }

  /** The stat identity of every container's state file at load time. */
  public Map<StateFileName, FileIdentity> stateFileIdentities() {
    Map<StateFileName, FileIdentity> m = new LinkedHashMap<>();
    for (ContainerState c : containers) {
      m.put(c.name(), c.identity());
    }
    return m;
  }

  @Override
  public String toString() {
    return "sandbox " + sandboxId() + " (iteration " + iteration + ", pid " + pid() + ")";
  }
}
