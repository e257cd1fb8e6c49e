package dev.sandboxmetrics.simulator;

import dev.sandboxmetrics.runsc.discovery.ContainerState;
import dev.sandboxmetrics.runsc.discovery.StateFileName;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything about one simulated sandbox that a test may want to choose: its ID and pod, metric profile and
 * fault, where its control socket is, what its containers' OCI specs say, and its checkpoint/restore state.
 * Only the ID is required:
 *
 * <pre>{@code
 * SandboxSpec.builder("s1").podName("web-0").namespace("default")
 *     .profile(Profile.REALISTIC).fault(Fault.NONE).subContainers(1).build()
 * }</pre>
 *
 * Immutable; {@link Simulator#recreate} creates the same spec again.
 */
public final class SandboxSpec {
  /** How the container runtime annotates the containers' specs. */
  public enum Cri {
    /** No CRI annotations (a single container under Docker or plain runsc). */
    NONE,
    /** containerd's {@code io.kubernetes.cri.*} annotations, which runsc reads pod name and namespace from. */
    CONTAINERD,
    /** CRI-O's {@code io.kubernetes.cri-o.*} annotations. */
    CRIO
  }

  private final String id;
  private final String podName;
  private final String namespace;
  private final Profile profile;
  private final Fault fault;
  private final Duration slowDelay;
  private final long oversizedBytes;
  private final String metricServerAddress;
  private final Path controlSocketPath;
  private final String recordedControlSocketPath;
  private final ContainerSpec root;
  private final List<ContainerSpec> subContainers;
  private final Cri cri;
  private final Map<String, String> metricMetadata;
  private final ContainerState.Checkpoint checkpoint;
  private final String cgroupPath;

  private SandboxSpec(Builder b) {
    id = b.id;
    podName = b.podName;
    namespace = b.namespace;
    profile = b.profile;
    fault = b.fault;
    slowDelay = b.slowDelay;
    oversizedBytes = b.oversizedBytes;
    metricServerAddress = b.metricServerAddress;
    controlSocketPath = b.controlSocketPath;
    recordedControlSocketPath = b.recordedControlSocketPath;
    root = b.root.build();
    subContainers = List.copyOf(b.subContainers);
    cri = b.cri != null ? b.cri
        : (!podName.isEmpty() || !namespace.isEmpty() || !subContainers.isEmpty()) ? Cri.CONTAINERD : Cri.NONE;
    metricMetadata = b.metricMetadata == null ? null : Map.copyOf(b.metricMetadata);
    checkpoint = b.checkpoint;
    cgroupPath = b.cgroupPath;
  }

  /**
   * @param id the sandbox ID, which is also its root container's ID; runsc's syntax {@code [\w+.-]+}
   */
  public static Builder builder(String id) {
    return new Builder(id);
  }

  public String id() {
    return id;
  }

  /** The Kubernetes pod name, "" for none. */
  public String podName() {
    return podName;
  }

  /** The Kubernetes namespace, "" for none. */
  public String namespace() {
    return namespace;
  }

  public Profile profile() {
    return profile;
  }

  /** The fault the sandbox starts with. */
  public Fault fault() {
    return fault;
  }

  public Duration slowDelay() {
    return slowDelay;
  }

  public long oversizedBytes() {
    return oversizedBytes;
  }

  /**
   * The address written as {@code metricServerAddress}: null means the simulator's address, "" means the
   * sandbox was not asked to export metrics (then {@code registeredMetrics} is null too).
   */
  public String metricServerAddress() {
    return metricServerAddress;
  }

  /** Where the control socket is bound; null means runsc's default {@code ROOT/runsc-<id>.sock}. */
  public Path controlSocketPath() {
    return controlSocketPath;
  }

  /** What the state file says the control socket path is, when it differs from where it is bound. */
  public String recordedControlSocketPath() {
    return recordedControlSocketPath;
  }

  /** The root container's spec (its ID is ignored: it is always the sandbox ID). */
  public ContainerSpec root() {
    return root;
  }

  public List<ContainerSpec> subContainers() {
    return subContainers;
  }

  public Cri cri() {
    return cri;
  }

  /** {@code sandbox.metricMetadata}; null means a runsc-like default. */
  public Map<String, String> metricMetadata() {
    return metricMetadata;
  }

  /** What the state file says about checkpoint and restore; {@code Checkpoint.NONE} by default. */
  public ContainerState.Checkpoint checkpoint() {
    return checkpoint;
  }

  /** The sandbox's cgroup v2 path, or null when the state file should name none. */
  public String cgroupPath() {
    return cgroupPath;
  }

  /** A builder holding this spec's settings, to derive a variant. */
  public Builder toBuilder() {
    Builder b = new Builder(id);
    b.podName = podName;
    b.namespace = namespace;
    b.profile = profile;
    b.fault = fault;
    b.slowDelay = slowDelay;
    b.oversizedBytes = oversizedBytes;
    b.metricServerAddress = metricServerAddress;
    b.controlSocketPath = controlSocketPath;
    b.recordedControlSocketPath = recordedControlSocketPath;
    b.root = root.toBuilder();
    b.subContainers = new ArrayList<>(subContainers);
    b.cri = cri;
    b.metricMetadata = metricMetadata;
    b.checkpoint = checkpoint;
    b.cgroupPath = cgroupPath;
    return b;
  }

  /** Builds a {@link SandboxSpec}; every setting has a sensible default. */
  public static final class Builder {
    private final String id;
    private String podName = "";
    private String namespace = "";
    private Profile profile = Profile.REALISTIC;
    private Fault fault = Fault.NONE;
    private Duration slowDelay = Duration.ofSeconds(2);
    private long oversizedBytes = 128L << 20;
    private String metricServerAddress;
    private Path controlSocketPath;
    private String recordedControlSocketPath;
    private ContainerSpec.Builder root = ContainerSpec.builder();
    private List<ContainerSpec> subContainers = new ArrayList<>();
    private Cri cri;
    private Map<String, String> metricMetadata;
    private ContainerState.Checkpoint checkpoint = ContainerState.Checkpoint.NONE;
    private String cgroupPath;

    private Builder(String id) {
      this.id = validId(id);
      root.id(id);
    }

    public Builder podName(String podName) {
      this.podName = podName == null ? "" : podName;
      return this;
    }

    public Builder namespace(String namespace) {
      this.namespace = namespace == null ? "" : namespace;
      return this;
    }

    public Builder profile(Profile profile) {
      this.profile = Objects.requireNonNull(profile, "profile");
      return this;
    }

    public Builder fault(Fault fault) {
      this.fault = Objects.requireNonNull(fault, "fault");
      return this;
    }

    /** How long {@link Fault#SLOW} waits before answering (default 2 s). */
    public Builder slowDelay(Duration delay) {
      if (delay.isNegative()) {
        throw new IllegalArgumentException("slow delay must not be negative: " + delay);
      }
      this.slowDelay = delay;
      return this;
    }

    /** How many bytes {@link Fault#OVERSIZED} sends (default 128 MiB). */
    public Builder oversizedBytes(long bytes) {
      if (bytes < 1024) {
        throw new IllegalArgumentException("oversized replies must be at least 1 KiB, got " + bytes);
      }
      this.oversizedBytes = bytes;
      return this;
    }

    /**
     * The metric server address this sandbox was created for, instead of the simulator's: another server's
     * address (this one must ignore it), or "" for a sandbox not asked to export metrics.
     */
    public Builder metricServerAddress(String address) {
      this.metricServerAddress = Objects.requireNonNull(address, "address (use \"\" for none)");
      return this;
    }

    /** A sandbox started without {@code --metric-server}: no address, no registered metrics. */
    public Builder noMetrics() {
      return metricServerAddress("");
    }

    /**
     * Binds the control socket here instead of {@code ROOT/runsc-<id>.sock} (missing directories are
     * created, and removed again on close). Paths of 108 bytes and more work, as with runsc.
     */
    public Builder controlSocketPath(Path path) {
      this.controlSocketPath = path.toAbsolutePath();
      return this;
    }

    /**
     * Writes this as {@code controlSocketPath} in the state file while the socket is bound where it would
     * be anyway: e.g. a path that does not exist, so that a client must fall back to
     * {@code ROOT/runsc-<id>.sock} as runsc does.
     */
    public Builder recordedControlSocketPath(String path) {
      this.recordedControlSocketPath = Objects.requireNonNull(path, "path");
      return this;
    }

    /** The root container's process user. */
    public Builder uid(long uid) {
      root.uid(uid);
      return this;
    }

    public Builder gid(long gid) {
      root.gid(gid);
      return this;
    }

    public Builder ociVersion(String version) {
      root.ociVersion(version);
      return this;
    }

    /** The root container's bounding, effective and permitted capabilities. */
    public Builder capabilities(String... capabilities) {
      root.capabilities(capabilities);
      return this;
    }

    public Builder capabilitySets(
        List<String> bounding,
        List<String> effective,
        List<String> inheritable,
        List<String> permitted,
        List<String> ambient) {
      root.capabilitySets(bounding, effective, inheritable, permitted, ambient);
      return this;
    }

    /** An annotation on the root container's spec. */
    public Builder annotation(String key, String value) {
      root.annotation(key, value);
      return this;
    }

    public Builder nvproxy() {
      root.nvproxy();
      return this;
    }

    public Builder tpuproxy() {
      root.tpuproxy();
      return this;
    }

    /** Adds {@code n} default sub-containers, named {@code <id>-c1}, {@code <id>-c2}, ... */
    public Builder subContainers(int n) {
      for (int i = 0; i < n; i++) {
        subContainers.add(ContainerSpec.builder().build());
      }
      return this;
    }

    /**
     * Makes this sandbox a Kubernetes pod as the kubelet creates it: the pause container gets the kubelet's
     * resources for it, and {@code n} application containers are added, named {@code app} and
     * {@code sidecar-1}, {@code sidecar-2}..., each with an image and resource limits.
     */
    public Builder podContainers(int n) {
      root.resources(ContainerSpec.Resources.PAUSE);
      for (int i = 0; i < n; i++) {
        boolean app = i == 0;
        subContainers.add(ContainerSpec.builder()
            .name(app ? "app" : "sidecar-" + i)
            .image(app ? "docker.io/library/nginx:1.27" : "docker.io/library/busybox:1.36")
            .resources(ContainerSpec.Resources.limits(app ? 500 : 100, (app ? 256L : 64L) << 20))
            .args(app ? new String[] {"nginx", "-g", "daemon off;"} : new String[] {"sleep", "infinity"})
            .build());
      }
      return this;
    }

    public Builder subContainer(ContainerSpec container) {
      subContainers.add(Objects.requireNonNull(container, "container"));
      return this;
    }

    /** Which CRI annotations to write; default containerd when there is a pod or a sub-container. */
    public Builder cri(Cri cri) {
      this.cri = Objects.requireNonNull(cri, "cri");
      return this;
    }

    /** {@code sandbox.metricMetadata} (runsc writes version, platform, network...). */
    public Builder metricMetadata(Map<String, String> metadata) {
      this.metricMetadata = new LinkedHashMap<>(metadata);
      return this;
    }

    public Builder checkpointed(boolean checkpointed) {
      checkpoint = new ContainerState.Checkpoint(
          checkpointed, checkpoint.restored(), checkpoint.cpuTimeSaved(), checkpoint.wallTimeSaved());
      return this;
    }

    /** A sandbox restored from a checkpoint, with the CPU and wall time the restore saved. */
    public Builder restored(Duration cpuTimeSaved, Duration wallTimeSaved) {
      checkpoint = new ContainerState.Checkpoint(checkpoint.checkpointed(), true, cpuTimeSaved, wallTimeSaved);
      return this;
    }

    /** The sandbox's cgroup v2 path (relative to /sys/fs/cgroup), written into the state file. */
    public Builder cgroupPath(String path) {
      this.cgroupPath = path;
      return this;
    }

    public SandboxSpec build() {
      for (ContainerSpec c : subContainers) {
        if (c.id() != null) {
          validId(c.id());
        }
      }
      return new SandboxSpec(this);
    }

    private static String validId(String id) {
      // runsc's container ID syntax (runsc/container/container.go, validateID), as discovery checks it.
      if (!StateFileName.isValidId(id)) {
        throw new IllegalArgumentException(
            "invalid sandbox or container ID \"" + id + "\": runsc IDs match [\\w+.-]+");
      }
      return id;
    }
  }
}
