package dev.sandboxmetrics.simulator;

import dev.sandboxmetrics.runsc.discovery.ContainerState;
import dev.sandboxmetrics.simulator.state.ContainerRecord;
import dev.sandboxmetrics.simulator.state.StateFiles;
import dev.sandboxmetrics.simulator.urpc.Binding;
import dev.sandboxmetrics.simulator.urpc.ControlServer;
import dev.sandboxmetrics.simulator.workload.Workload;
import dev.sandboxmetrics.snapshot.Registration;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Simulated gVisor sandboxes in an OCI runtime root directory, made exactly as runsc makes them (state and
 * lock files, a live process per sandbox, a control socket speaking uRPC with evolving metrics), so that a
 * metric server cannot tell them from real ones. Used by the project's tests, by
 * {@code sandbox-metrics simulate} and {@code demo}, and by the benchmarks.
 *
 * <pre>{@code
 * try (Simulator sim = Simulator.start(rootDir, "localhost:1337")) {
 *   SimulatedSandbox sb = sim.create(SandboxSpec.builder("s1").podName("web-0").namespace("default")
 *       .profile(Profile.REALISTIC).fault(Fault.NONE).subContainers(1).build());
 *   sb.start();                      // status "running"; sb.pid() is a live process
 *   sb.setFault(Fault.STALL);        // from the next call on, never answers
 *   sb.kill9();                      // process gone, state file still says running
 *   SimulatedSandbox again = sim.recreate("s1");   // same ID, new createdAt, running again
 * }                                  // close(): kills every process, removes every file it created
 * }</pre>
 *
 * <p>Costs: one idle {@code cat} process per sandbox (about 100 KB of memory of its own), all children of one
 * {@code bash} that starts and reaps them ({@link HolderHost}); every control socket of every sandbox is
 * served by two selector threads, however many sandboxes and connections there are. Thread-safe.
 */
public final class Simulator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Simulator.class);
  private static final int CONTROL_THREADS = 2;

  private final Path root;
  private final String metricServerAddress;
  private final ZoneId zone = ZoneId.systemDefault();
  private final ControlServer control;
  /** Where sandboxes' host cgroup v2 files are written (stands in for /sys/fs/cgroup), or null for nowhere. */
  private Path cgroupRoot;
  private HolderHost holders;
  private final Map<String, SimulatedSandbox> sandboxes = new LinkedHashMap<>();
  /** Directories we created (the root, socket directories), removed in reverse order on close if empty. */
  private final Deque<Path> createdDirectories = new ArrayDeque<>();
  private boolean closed;

  private Simulator(Path root, String metricServerAddress) {
    this.root = root;
    this.metricServerAddress = metricServerAddress == null ? "" : metricServerAddress;
    this.control = ControlServer.start(CONTROL_THREADS);
  }

  /**
   * A simulator for {@code root} (created with mode 0711 if missing, and then removed on close).
   *
   * @param metricServerAddress what sandboxes write as {@code metricServerAddress} unless their spec says
   *     otherwise: the exact string the metric server is started with; null or "" for sandboxes that were
   *     not asked for metrics
   */
  public static Simulator start(Path root, String metricServerAddress) throws IOException {
    Path absolute = root.toAbsolutePath().normalize();
    Simulator sim = new Simulator(absolute, metricServerAddress);
    try {
      sim.createDirectories(absolute, "rwx--x--x");
      sim.holders = HolderHost.start();
    } catch (IOException | RuntimeException e) {
      sim.close();
      throw e;
    }
    return sim;
  }

  /**
   * {@link #start(Path, String)}, also keeping a host cgroup v2 tree for every sandbox under
   * {@code cgroupRoot}, which stands for the host's {@code /sys/fs/cgroup} (state files record that
   * mountpoint, as runsc does; a metric server's {@code --cgroup-root} points it here). A sandbox without a
   * cgroup path in its spec gets a kubelet-like one, {@code /kubepods/burstable/pod<uid>/<sandbox id>}.
   */
  public static Simulator start(Path root, String metricServerAddress, Path cgroupRoot) throws IOException {
    Simulator sim = start(root, metricServerAddress);
    if (cgroupRoot != null) {
      try {
        Path absolute = cgroupRoot.toAbsolutePath().normalize();
        sim.createDirectories(absolute, "rwxr-xr-x");
        sim.cgroupRoot = absolute;
      } catch (IOException | RuntimeException e) {
        sim.close();
        throw e;
      }
    }
    return sim;
  }

  public Path root() {
    return root;
  }

  /** The directory standing for /sys/fs/cgroup, or null when the simulator writes no cgroup files. */
  public Path cgroupRoot() {
    return cgroupRoot;
  }

  public String metricServerAddress() {
    return metricServerAddress;
  }

  ZoneId zone() {
    return zone;
  }

  /**
   * Creates a sandbox as {@code runsc create} does: holder process started, control socket listening,
   * state files written with status {@code created}.
   *
   * @throws IllegalStateException when this simulator already has a sandbox with that ID or a state file
   *     for it exists
   * @throws IOException when a file or socket cannot be made, naming it
   */
  public SimulatedSandbox create(SandboxSpec spec) throws IOException {
    String id = spec.id();
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("simulator for " + root + " is closed");
      }
      if (sandboxes.containsKey(id)) {
        throw new IllegalStateException("sandbox " + id + " already exists in " + root);
      }
      // Reserve the ID while we build outside the lock.
      sandboxes.put(id, null);
    }
    try {
      SimulatedSandbox sb = build(spec);
      synchronized (this) {
        sandboxes.put(id, sb);
      }
      return sb;
    } catch (IOException | RuntimeException e) {
      synchronized (this) {
        sandboxes.remove(id);
      }
      throw e;
    }
  }

  /** {@link #create} then {@link SimulatedSandbox#start}: the common case in tests. */
  public SimulatedSandbox createRunning(SandboxSpec spec) throws IOException {
    SimulatedSandbox sb = create(spec);
    sb.start();
    return sb;
  }

  /**
   * Destroys sandbox {@code id} and creates it again from the same spec, with a new {@code createdAt} (so a
   * new {@code iteration}), a new process and a fresh workload; started again unless it was only created.
   */
  public SimulatedSandbox recreate(String id) throws IOException {
    SimulatedSandbox old = sandbox(id);
    if (old == null) {
      throw new IllegalArgumentException("no sandbox " + id + " in " + root);
    }
    boolean wasOnlyCreated = old.status() == SimulatedSandbox.Status.CREATED;
    old.destroy();
    return wasOnlyCreated ? create(old.spec()) : createRunning(old.spec());
  }

  /** The live (not destroyed) sandbox with this ID, or null. */
  public synchronized SimulatedSandbox sandbox(String id) {
    return sandboxes.get(id);
  }

  /** Every sandbox not destroyed yet, in creation order. */
  public synchronized List<SimulatedSandbox> sandboxes() {
    List<SimulatedSandbox> out = new ArrayList<>();
    for (SimulatedSandbox sb : sandboxes.values()) {
      if (sb != null) {
        out.add(sb);
      }
    }
    return out;
  }

  /**
   * Destroys every sandbox (processes killed; state, lock and socket files removed), removes the
   * directories it created, and stops the control socket threads. Idempotent.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    List<SimulatedSandbox> all = sandboxes();
    // Signal every holder first: a thousand processes then exit together instead of one after another.
    for (SimulatedSandbox sb : all) {
      sb.signalStop();
    }
    for (SimulatedSandbox sb : all) {
      try {
        sb.destroy();
      } catch (RuntimeException e) {
        log.warn("cannot clean up {}", sb, e);
      }
    }
    control.close();
    if (holders != null) {
      holders.close();
    }
    synchronized (this) {
      while (!createdDirectories.isEmpty()) {
        Path dir = createdDirectories.pop();
        try {
          Files.deleteIfExists(dir);
        } catch (DirectoryNotEmptyException e) {
          log.info("leaving {}: it holds files the simulator did not create", dir);
        } catch (IOException e) {
          log.warn("cannot remove {}", dir, e);
        }
      }
    }
  }

  synchronized void forget(SimulatedSandbox sb) {
    sandboxes.remove(sb.id(), sb);
  }

  private SimulatedSandbox build(SandboxSpec spec) throws IOException {
    String id = spec.id();
    if (Files.exists(StateFiles.statePath(root, id, id))) {
      throw new IllegalStateException(
          "sandbox " + id + " already has a state file in " + root + " (container already exists)");
    }
    Path socket = spec.controlSocketPath() != null ? spec.controlSocketPath() : root.resolve("runsc-" + id + ".sock");
    if (Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      throw new IllegalStateException("control socket path " + socket + " of sandbox " + id + " already exists");
    }
    createDirectories(socket.getParent(), "rwx------");

    if (spec.cgroupPath() == null && cgroupRoot != null) {
      spec = spec.toBuilder().cgroupPath(defaultCgroupPath(id)).build();
    }
    Instant createdAt = SimClock.now();
    Workload workload = spec.profile().newWorkload(id.hashCode());
    SandboxEndpoint endpoint = new SandboxEndpoint(id, workload, zone, spec);
    Holder holder = null;
    Binding binding = null;
    PodStats podStats = null;
    List<ContainerRecord> written = new ArrayList<>();
    try {
      holder = Holder.start(holders, id);
      binding = control.bind(socket, endpoint);
      List<ContainerRecord> containers = containers(spec, createdAt, holder.pid(), socket, workload);
      List<String> ids = new ArrayList<>();
      for (ContainerRecord c : containers) {
        ids.add(c.containerId());
      }
      Path cgroupDir = cgroupRoot == null || spec.cgroupPath() == null ? null
          : cgroupRoot.resolve(spec.cgroupPath().replaceFirst("^/+", "")).normalize();
      if (cgroupDir != null && !cgroupDir.startsWith(cgroupRoot)) {
        throw new IllegalArgumentException("cgroup path " + spec.cgroupPath() + " leaves the cgroup root");
      }
      podStats = new PodStats(id, ids, cgroupDir);
      podStats.writeCgroup(podStats.sample(), true);
      endpoint.setPodStats(podStats);
      for (ContainerRecord c : containers) {
        StateFiles.write(root, c, zone);
        written.add(c);
      }
      return new SimulatedSandbox(this, spec, createdAt, endpoint, workload.registration(), socket, true,
          containers, holder, binding, podStats);
    } catch (IOException | RuntimeException e) {
      // Leave nothing half made behind.
      for (ContainerRecord c : written) {
        try {
          StateFiles.remove(root, c.containerId(), id);
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      if (binding != null) {
        binding.close();
        Files.deleteIfExists(socket);
      }
      if (holder != null) {
        holder.kill();
      }
      if (podStats != null) {
        podStats.removeCgroup(cgroupRoot);
      }
      throw e;
    }
  }

  private List<ContainerRecord> containers(
      SandboxSpec spec, Instant createdAt, long pid, Path socket, Workload workload) {
    String id = spec.id();
    String address = spec.metricServerAddress() != null ? spec.metricServerAddress() : metricServerAddress;
    // runsc asks the sandbox for its registration only when it was asked to export metrics.
    Registration registered = address.isEmpty() ? null : workload.registration();
    ContainerRecord.Sandbox sandbox =
        new ContainerRecord.Sandbox(
            id,
            spec.podName(),
            spec.namespace(),
            pid,
            spec.root().uid(),
            spec.root().gid(),
            spec.cgroupPath(),
            registered,
            spec.metricMetadata() != null ? spec.metricMetadata() : defaultMetricMetadata(),
            address,
            spec.recordedControlSocketPath() != null ? spec.recordedControlSocketPath() : socket.toString(),
            createdAt,
            spec.checkpoint());

    List<ContainerRecord> out = new ArrayList<>();
    out.add(container(spec, spec.root(), id, true, createdAt, sandbox));
    int n = 0;
    for (ContainerSpec sub : spec.subContainers()) {
      n++;
      String cid = sub.id() != null ? sub.id() : id + "-c" + n;
      out.add(container(spec, sub, cid, false, SimClock.now(), sandbox));
    }
    return out;
  }

  private static ContainerRecord container(
      SandboxSpec spec,
      ContainerSpec c,
      String containerId,
      boolean isRoot,
      Instant createdAt,
      ContainerRecord.Sandbox sandbox) {
    Map<String, String> annotations = new LinkedHashMap<>(c.annotations());
    switch (spec.cri()) {
      case CONTAINERD:
        annotations.put(ContainerState.CONTAINERD_TYPE_ANNOTATION, isRoot ? "sandbox" : "container");
        annotations.put("io.kubernetes.cri.sandbox-id", spec.id());
        if (!spec.podName().isEmpty()) {
          annotations.put("io.kubernetes.cri.sandbox-name", spec.podName());
        }
        if (!spec.namespace().isEmpty()) {
          annotations.put("io.kubernetes.cri.sandbox-namespace", spec.namespace());
        }
        if (!isRoot) {
          annotations.put("io.kubernetes.cri.container-name", c.name() != null ? c.name() : containerId);
          if (c.image() != null) {
            annotations.put("io.kubernetes.cri.image-name", c.image());
          }
        }
        if (!spec.podName().isEmpty()) {
          annotations.put("io.kubernetes.cri.sandbox-uid", podUid(spec.id()));
        }
        break;
      case CRIO:
        annotations.put(ContainerState.CRIO_TYPE_ANNOTATION, isRoot ? "sandbox" : "container");
        annotations.put("io.kubernetes.cri-o.SandboxID", spec.id());
        if (!spec.podName().isEmpty()) {
          annotations.put("io.kubernetes.pod.name", spec.podName());
        }
        if (!spec.namespace().isEmpty()) {
          annotations.put("io.kubernetes.pod.namespace", spec.namespace());
        }
        if (!isRoot) {
          annotations.put("io.kubernetes.container.name", c.name() != null ? c.name() : containerId);
          if (c.image() != null) {
            annotations.put("io.kubernetes.cri-o.ImageName", c.image());
          }
        }
        break;
      default:
        break;
    }
    List<String> args = isRoot && spec.cri() != SandboxSpec.Cri.NONE ? List.of("/pause") : c.args();
    return new ContainerRecord(
        containerId,
        spec.id(),
        createdAt,
        "created",
        c.ociVersion(),
        c.uid(),
        c.gid(),
        args,
        new ContainerState.Capabilities(c.bounding(), c.effective(), c.inheritable(), c.permitted(), c.ambient()),
        annotations,
        spec.podName().isEmpty() ? spec.id() : spec.podName(),
        sandbox,
        c.resources(),
        containerCgroupsPath(sandbox.cgroupPath(), containerId, isRoot));
  }

  /** A container's own cgroup beside the sandbox's (in the pod's cgroup), as the kubelet lays them out. */
  private static String containerCgroupsPath(String sandboxPath, String containerId, boolean isRoot) {
    if (sandboxPath == null || isRoot) {
      return sandboxPath;
    }
    int slash = sandboxPath.lastIndexOf('/');
    return slash < 0 ? containerId : sandboxPath.substring(0, slash + 1) + containerId;
  }

  /** The kubelet's cgroupfs layout: the sandbox's cgroup inside its pod's, in the burstable QoS class. */
  static String defaultCgroupPath(String sandboxId) {
    return "/kubepods/burstable/pod" + podUid(sandboxId) + "/" + sandboxId;
  }

  static String podUid(String sandboxId) {
    return java.util.UUID.nameUUIDFromBytes(sandboxId.getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString();
  }

  /** What runsc's Config.MetricMetadata() gives, with a version that says where it came from. */
  private static Map<String, String> defaultMetricMetadata() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("version", "sandbox-metrics-simulator");
    m.put("platform", "systrap");
    m.put("network", "sandbox");
    m.put("numcores", Integer.toString(Runtime.getRuntime().availableProcessors()));
    m.put("coretags", "false");
    m.put("overlay", "root:self");
    m.put("fsmode", "directfs");
    m.put("cpuarch", "amd64");
    m.put("go", "go1.24.1");
    m.put("experiment", "");
    return m;
  }

  /** Creates missing directories with these permissions, remembering which ones we made. */
  private synchronized void createDirectories(Path dir, String permissions) throws IOException {
    if (dir == null || Files.isDirectory(dir)) {
      return;
    }
    createDirectories(dir.getParent(), permissions);
    try {
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(permissions)));
      createdDirectories.push(dir);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      if (!Files.isDirectory(dir)) {
        throw new IOException(dir + " exists and is not a directory", e);
      }
    } catch (IOException e) {
      throw new IOException("cannot create directory " + dir + ": " + e.getMessage(), e);
    }
  }
}
